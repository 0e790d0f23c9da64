# Sourced by ./rgemma and ./mvnw: exports JAVA_HOME pointing at a JDK >= 25.
# Order: $RGEMMA_JAVA_HOME, $JAVA_HOME, `java` on PATH, then the usual install folders.
rgemma_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
rgemma_select_jdk() {
  local candidate major
  local path_java
  path_java=$(command -v java 2>/dev/null || true)
  [ -n "$path_java" ] && path_java=$(dirname "$(dirname "$(readlink -f "$path_java")")")
  for candidate in "${RGEMMA_JAVA_HOME:-}" "${JAVA_HOME:-}" "$path_java" \
      /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/jdk-25* /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    major=$(rgemma_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      export JAVA_HOME="$candidate"
      return 0
    fi
  done
  echo "rgemma: no JDK 25 or newer found. Install one (e.g. Temurin 25) and set RGEMMA_JAVA_HOME." >&2
  return 1
}
