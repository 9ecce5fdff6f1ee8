package dev.lakehouse.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The docker-spark/ images run what the build was compiled and tested against: versions in the
 * Dockerfile, the compose file's image tags and the Delta artifact all agree with pom.xml, and the
 * compose services match conf/docker.conf. No Docker needed; the image build checks the jars.
 */
class DockerVersionsTest {

  private static Path root;
  private static Map<String, String> pom;
  private static Map<String, String> args;
  private static List<String> dockerfile;
  private static String compose;

  @BeforeAll
  static void read() throws Exception {
    root = repositoryRoot();
    pom = pomProperties(root.resolve("pom.xml"));
    dockerfile = Files.readAllLines(root.resolve("docker-spark/Dockerfile"));
    args = argDefaults(dockerfile);
    compose = Files.readString(root.resolve("docker-spark/docker-compose.yml"));
  }

  @Test
  void dockerfileArgumentsMatchThePom() {
    assertEquals(pom.get("spark.version"), arg("SPARK_VERSION"), "ARG SPARK_VERSION vs pom.xml spark.version");
    assertEquals(pom.get("scala.binary.version"), arg("SCALA_BINARY_VERSION"),
        "ARG SCALA_BINARY_VERSION vs pom.xml scala.binary.version");
    assertEquals(pom.get("maven.compiler.release"), arg("JAVA_VERSION"), "ARG JAVA_VERSION vs pom.xml maven.compiler.release");
    assertEquals(pom.get("delta.version"), arg("DELTA_VERSION"), "ARG DELTA_VERSION vs pom.xml delta.version");
    assertEquals(pom.get("hadoop.version"), arg("HADOOP_VERSION"), "ARG HADOOP_VERSION vs pom.xml hadoop.version");
    assertEquals(pom.get("awssdk.version"), arg("AWSSDK_VERSION"), "ARG AWSSDK_VERSION vs pom.xml awssdk.version");
  }

  @Test
  void baseImagesAreBuiltFromTheArguments() {
    List<String> froms = dockerfile.stream().map(String::trim).filter(l -> l.startsWith("FROM ")).toList();
    assertEquals(List.of(
        "FROM apache/spark:${SPARK_VERSION}-scala${SCALA_BINARY_VERSION}-java${JAVA_VERSION}-ubuntu AS spark",
        "FROM apache/zeppelin:${ZEPPELIN_VERSION} AS zeppelin"), froms);
    assertTrue(arg("ZEPPELIN_VERSION").matches("0\\.12\\.\\d+"),
        "Zeppelin 0.12.x runs the Spark 4.0 interpreter; ARG ZEPPELIN_VERSION=" + arg("ZEPPELIN_VERSION"));
  }

  @Test
  void deltaArtifactIsBuiltForThePinnedSparkAndScala() throws Exception {
    String sparkMinor = pom.get("spark.version").replaceAll("^(\\d+\\.\\d+)\\..*$", "$1");
    List<String> deltaArtifacts = new ArrayList<>();
    NodeList ids = parse(root.resolve("pom.xml")).getElementsByTagName("artifactId");
    for (int i = 0; i < ids.getLength(); i++) {
      String id = ids.item(i).getTextContent().trim();
      if (id.startsWith("delta-spark_")) {
        deltaArtifacts.add(id);
      }
    }
    assertEquals(List.of("delta-spark_" + sparkMinor + "_${scala.binary.version}"), deltaArtifacts,
        "Delta's artifact names the Spark line it is built for");
  }

  @Test
  void composeImageTagsNameThePinnedVersions() {
    assertEquals(List.of(pom.get("spark.version")), all(compose, "image:\\s*lakehouse/spark:(\\S+)"),
        "lakehouse/spark image tag vs pom.xml spark.version");
    assertEquals(List.of(arg("ZEPPELIN_VERSION") + "-spark" + pom.get("spark.version")),
        all(compose, "image:\\s*lakehouse/zeppelin:(\\S+)"),
        "lakehouse/zeppelin image tag vs ARG ZEPPELIN_VERSION and pom.xml spark.version");
  }

  @Test
  void composeServicesMatchTheDockerEnvironment() throws Exception {
    Config docker = ConfigFactory.parseFile(root.resolve("conf/docker.conf").toFile()).resolve();
    URI lakehouseRoot = URI.create(docker.getString("lakehouse.root"));
    assertEquals("s3a", lakehouseRoot.getScheme());
    assertEquals(List.of(lakehouseRoot.getHost()), all(compose, "mc mb --ignore-existing local/(\\S+)"),
        "bucket created by minio-init vs lakehouse.root in conf/docker.conf");

    URI source = URI.create(docker.getString("lakehouse.source.url").substring("jdbc:".length()));
    assertEquals("postgres", source.getHost(), "the source host is the compose service name");
    assertEquals(List.of(source.getPath().substring(1)), all(compose, "POSTGRES_DB:\\s*(\\S+)"));
    assertEquals(List.of(docker.getString("lakehouse.source.user")), all(compose, "POSTGRES_USER:\\s*(\\S+)"));
    assertEquals(all(compose, "POSTGRES_DB:\\s*(\\S+)"), all(compose, "PGDATABASE:\\s*(\\S+)"), "seed checks the same database");
    assertEquals(all(compose, "POSTGRES_USER:\\s*(\\S+)"), all(compose, "PGUSER:\\s*(\\S+)"), "seed checks as the same user");

    String defaults = Files.readString(root.resolve("docker-spark/spark-defaults.conf"));
    Matcher endpoint = Pattern.compile("(?m)^spark\\.hadoop\\.fs\\.s3a\\.endpoint\\s+(\\S+)").matcher(defaults);
    assertTrue(endpoint.find(), "spark-defaults.conf sets fs.s3a.endpoint");
    assertEquals("http://minio:9000", endpoint.group(1));
  }

  private static String arg(String name) {
    String value = args.get(name);
    assertNotNull(value, "docker-spark/Dockerfile has no ARG " + name + "=<default>");
    return value;
  }

  private static List<String> all(String text, String regex) {
    List<String> found = new ArrayList<>();
    Matcher m = Pattern.compile(regex).matcher(text);
    while (m.find()) {
      found.add(m.group(1).replaceAll("^[\"']|[\"']$", ""));
    }
    return found;
  }

  /** ARG NAME=default lines; a name given a default twice is an error (one source of truth). */
  private static Map<String, String> argDefaults(List<String> lines) {
    Map<String, String> defaults = new LinkedHashMap<>();
    Pattern arg = Pattern.compile("^\\s*ARG\\s+([A-Za-z_][A-Za-z0-9_]*)=(\\S+)\\s*$");
    for (String line : lines) {
      Matcher m = arg.matcher(line);
      if (m.matches() && defaults.put(m.group(1), m.group(2)) != null) {
        fail("docker-spark/Dockerfile gives ARG " + m.group(1) + " a default twice");
      }
    }
    return defaults;
  }

  private static Map<String, String> pomProperties(Path pomFile) throws Exception {
    Element project = parse(pomFile).getDocumentElement();
    Map<String, String> properties = new LinkedHashMap<>();
    for (Node n = project.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals("properties")) {
        for (Node p = e.getFirstChild(); p != null; p = p.getNextSibling()) {
          if (p instanceof Element property) {
            properties.put(property.getTagName(), property.getTextContent().trim());
          }
        }
      }
    }
    for (String required : List.of("spark.version", "scala.binary.version", "delta.version", "hadoop.version",
        "awssdk.version", "maven.compiler.release")) {
      assertNotNull(properties.get(required), "pom.xml has no property " + required);
    }
    return properties;
  }

  private static org.w3c.dom.Document parse(Path file) throws Exception {
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    return factory.newDocumentBuilder().parse(file.toFile());
  }

  private static Path repositoryRoot() throws IOException {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("docker-spark/Dockerfile")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
    }
    throw new IOException("No docker-spark/Dockerfile above " + Path.of("").toAbsolutePath());
  }
}
