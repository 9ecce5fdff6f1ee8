#!/usr/bin/env bash
# Image build step: adds the jars the Maven build selected (jobs/target/docker-jars, laid out as
# group/artifact/version/) to Spark's jars/ directory, so every Spark JVM and Zeppelin has Delta and
# S3A, and checks the result against the versions pinned in pom.xml (passed in by the Dockerfile).
#
#   install-jars.sh SOURCE_DIR SPARK_JARS_DIR
#
# Added jars are named group.artifact-version.jar, so they are easy to tell from Spark's own.
# Fails on: no jars (the Maven build did not run), two versions of one artifact (a stale build
# directory: run ./mvnw clean package), an artifact Spark already ships in another version, or a
# pinned jar that is missing (wrong base image or pom).
set -euo pipefail

src=${1:?source directory}
dest=${2:?Spark jars directory}
: "${SPARK_VERSION:?}" "${SCALA_BINARY_VERSION:?}" "${DELTA_VERSION:?}" "${HADOOP_VERSION:?}" "${AWSSDK_VERSION:?}"

fail() { echo "install-jars: $*" >&2; exit 1; }
# Entry names of a jar (the JDK's jar tool; unzip where there is no JDK).
list_jar() {
  if command -v jar >/dev/null; then jar tf "$1"; else unzip -Z1 "$1"; fi
}
[[ -d $src ]] || fail "no directory $src: run ./mvnw -B -DskipTests package first"

# A jar's Maven coordinates from its repository-layout path.
declare -A version_of=() file_of=()
found=0
while IFS= read -r -d '' jar; do
  rel=${jar#"$src"/}
  version_dir=${rel%/*}
  version=${version_dir##*/}
  artifact_dir=${version_dir%/*}
  artifact=${artifact_dir##*/}
  group_dir=${artifact_dir%/*}
  [[ $group_dir != "$artifact_dir" && -n $version && -n $artifact ]] || fail "not a group/artifact/version path: $rel"
  group=${group_dir//\//.}
  key="$group:$artifact"
  if [[ -n ${version_of[$key]:-} && ${version_of[$key]} != "$version" ]]; then
    fail "two versions of $key in $src (${version_of[$key]}, $version): run ./mvnw -B -DskipTests clean package"
  fi
  version_of[$key]=$version
  file_of[$key]=$jar
  found=$((found + 1))
done < <(find "$src" -name '*.jar' -print0)

(( found > 0 )) || fail "no jars under $src: run ./mvnw -B -DskipTests package first"

# Spark's own jars by artifact name (file names are artifact-version.jar).
declare -A spark_jar=()
for jar in "$dest"/*.jar; do
  name=${jar##*/}
  name=${name%.jar}
  [[ $name =~ ^(.+)-[0-9][A-Za-z0-9._-]*$ ]] && spark_jar[${BASH_REMATCH[1]}]=${jar##*/}
done

added=0
for key in "${!file_of[@]}"; do
  group=${key%%:*}
  artifact=${key#*:}
  version=${version_of[$key]}
  theirs=${spark_jar[$artifact]:-}
  if [[ -n $theirs ]]; then
    if [[ $theirs == "$artifact-$version.jar" ]]; then
      echo "install-jars: Spark already ships $theirs; not adding $key:$version"
      continue
    fi
    # Same artifact name, other version: the same library only if Spark's jar says so.
    if list_jar "$dest/$theirs" | grep -qxF "META-INF/maven/$group/$artifact/pom.properties"; then
      fail "Spark ships $theirs but the build selected $key:$version; exclude it in jobs/pom.xml (docker-jars)"
    fi
  fi
  cp "${file_of[$key]}" "$dest/$group.$artifact-$version.jar"
  added=$((added + 1))
done

require() {
  [[ -f $dest/$1 ]] || fail "missing $1 in $dest ($2)"
}
spark_minor=${SPARK_VERSION%.*}
require "spark-core_${SCALA_BINARY_VERSION}-${SPARK_VERSION}.jar" "the base image must be Spark $SPARK_VERSION, Scala $SCALA_BINARY_VERSION"
require "hadoop-client-runtime-${HADOOP_VERSION}.jar" "Spark's Hadoop must match hadoop-aws $HADOOP_VERSION"
require "org.apache.hadoop.hadoop-aws-${HADOOP_VERSION}.jar" "hadoop.version in pom.xml"
require "io.delta.delta-spark_${spark_minor}_${SCALA_BINARY_VERSION}-${DELTA_VERSION}.jar" "delta.version in pom.xml"
require "io.delta.delta-storage-${DELTA_VERSION}.jar" "delta.version in pom.xml"
require "software.amazon.awssdk.s3-${AWSSDK_VERSION}.jar" "awssdk.version in pom.xml"
require "software.amazon.awssdk.s3-transfer-manager-${AWSSDK_VERSION}.jar" "awssdk.version in pom.xml"
# The SDK's HTTP client (apache-client) runs on the Apache HttpClient 4 that Spark ships.
compgen -G "$dest/httpclient-4.*.jar" >/dev/null || fail "Spark's jars have no httpclient 4.x, which the AWS SDK's apache-client needs"
compgen -G "$dest/httpcore-4.*.jar" >/dev/null || fail "Spark's jars have no httpcore 4.x, which the AWS SDK's apache-client needs"

echo "install-jars: added $added jars to $dest"
