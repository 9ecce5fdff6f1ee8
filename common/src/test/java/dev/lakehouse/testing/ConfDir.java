package dev.lakehouse.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The repository's conf/ directory, found from wherever the tests run (a module directory). */
public final class ConfDir {

  private ConfDir() {}

  public static Path find() {
    Path here = Paths.get("").toAbsolutePath();
    for (Path p = here; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("conf/application.conf"))) {
        return p.resolve("conf");
      }
    }
    throw new IllegalStateException("conf/application.conf not found above " + here);
  }
}
