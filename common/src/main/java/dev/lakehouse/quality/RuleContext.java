package dev.lakehouse.quality;

/** What rules need from outside the batch: the name of the column a relationship lookup adds. */
public interface RuleContext {

  String lookupFlag(Rule.Relationship rule);
}
