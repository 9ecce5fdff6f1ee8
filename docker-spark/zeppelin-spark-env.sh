# shellcheck shell=bash
# /opt/spark/conf/spark-env.sh in the Zeppelin image, read by spark-submit (and so by the Spark
# interpreter Zeppelin launches through it). Spark 4 needs Java 17; the Zeppelin server keeps the
# Java its image comes with, so only Spark JVMs use the JDK copied from the Spark image.
export JAVA_HOME=/opt/java/openjdk
