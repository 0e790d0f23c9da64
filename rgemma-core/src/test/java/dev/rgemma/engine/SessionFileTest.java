package dev.rgemma.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.RgemmaException;
import dev.rgemma.model.RecurrentGemmaModel;
import dev.rgemma.sampling.SamplerSettings;
import dev.rgemma.testing.Fixtures;
import dev.rgemma.testing.NewFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving and resuming sessions: bit-identical continuation, fixed size, clear errors. */
class SessionFileTest {
  /** Sampled (not greedy) with penalties, so the RNG and the token history matter too. */
  private static final SamplerSettings SAMPLED =
      new SamplerSettings(1.0f, 0, 0.98f, 0.01f, 1.1f, 0.05f, 0.05f, 16, 20261129L);
  private static final GenerationOptions NO_STOP = new GenerationOptions(0, List.of(), true);

  private static RecurrentGemmaModel model;
  private static int[] prompt;

  @TempDir Path dir;

  @BeforeAll
  static void load() throws Exception {
    model = RecurrentGemmaModel.load(Fixtures.dir("tiny-a"));
    prompt = Fixtures.ints(Fixtures.expected(Fixtures.dir("tiny-a")).get("input_tokens"));
  }

  @AfterAll
  static void close() {
    model.close();
  }

  private static GenerationOptions tokens(int maxTokens) {
    return new GenerationOptions(maxTokens, NO_STOP.stopStrings(), NO_STOP.ignoreStopTokens());
  }

  /**
   * A session saved with a penalty window wider than the loading session's own continues exactly
   * once the loading session takes the saved window: every saved recent token is kept on load, not
   * only as many as the loading session's window held (which dropped the older ones for good).
   */
  @Test
  void aWiderSavedPenaltyWindowSurvivesTheLoad() throws Exception {
    SamplerSettings wide = new SamplerSettings(0f, 0, 1f, 0f, 1.8f, 0.3f, 0.2f, 200, 7L);
    Session original = new Session(model, null, wide);
    original.generate(prompt, tokens(150), GenerationListener.NONE);
    Path file = dir.resolve("wide.rgsession");
    original.save(file);
    int[] straight = original.generate(new int[0], tokens(40), GenerationListener.NONE).tokens();

    Session narrow = new Session(model, null, SamplerSettings.greedy()); // window 64
    narrow.load(file);
    narrow.setSamplerSettings(wide, false);
    assertArrayEquals(straight, narrow.generate(new int[0], tokens(40), GenerationListener.NONE).tokens());
    assertEquals(200, narrow.recentTokens().length);

    // Narrowing the window keeps the older tokens: widening it again sees them all.
    Session back = new Session(model, null, SamplerSettings.greedy());
    back.load(file);
    back.setSamplerSettings(wide.withPenaltyWindow(8), false);
    back.setSamplerSettings(wide, false);
    assertArrayEquals(straight, back.generate(new int[0], tokens(40), GenerationListener.NONE).tokens());
  }

  /**
   * The other way round: a session saved with a narrow window, loaded into a session created with a
   * wider one, keeps the saved capacity, and both widen it at the same point later (a load that
   * took the loading session's wider capacity kept tokens the saved session had dropped).
   */
  @Test
  void aNarrowerSavedPenaltyWindowStaysNarrowUntilWidened() throws Exception {
    SamplerSettings narrow = new SamplerSettings(0f, 0, 1f, 0f, 1.8f, 0.3f, 0.2f, 16, 7L);
    SamplerSettings wide = narrow.withPenaltyWindow(64);
    Session original = new Session(model, null, narrow);
    original.generate(prompt, tokens(60), GenerationListener.NONE);
    Path file = dir.resolve("narrow.rgsession");
    original.save(file);
    int[] first = original.generate(new int[0], tokens(30), GenerationListener.NONE).tokens();
    original.setSamplerSettings(wide, false);
    int[] second = original.generate(new int[0], tokens(30), GenerationListener.NONE).tokens();

    Session restored = new Session(model, null, wide); // created with the wider window
    restored.load(file);
    assertEquals(16, restored.recentTokens().length);
    restored.setSamplerSettings(narrow, false);
    assertArrayEquals(first, restored.generate(new int[0], tokens(30), GenerationListener.NONE).tokens());
    restored.setSamplerSettings(wide, false);
    assertArrayEquals(second, restored.generate(new int[0], tokens(30), GenerationListener.NONE).tokens());
  }

  @Test
  void resumingFromSavedSessionsIsBitIdenticalToNeverStopping() throws Exception {
    int total = 60;
    SessionTest.Recorder uninterrupted = new SessionTest.Recorder();
    GenerationResult straight = new Session(model, null, SAMPLED).generate(prompt, tokens(total), uninterrupted);

    int[] splits = {1, 7, 8, 19, 33, 59};
    SessionTest.Recorder resumed = new SessionTest.Recorder();
    List<Integer> tokens = new ArrayList<>();
    List<Long> sizes = new ArrayList<>();
    Path file = dir.resolve("chat.rgsession");
    Session session = new Session(model, null, SAMPLED);
    int done = 0;
    int[] input = prompt;
    for (int i = 0; i <= splits.length; i++) {
      int until = i < splits.length ? splits[i] : total;
      GenerationResult part = session.generate(input, tokens(until - done), resumed);
      for (int t : part.tokens()) {
        tokens.add(t);
      }
      done = until;
      input = new int[0];
      session.save(file);
      sizes.add(Files.size(file));
      session = new Session(model, null, SAMPLED.withSeed(-1)); // the file's RNG state must win
      session.load(file);
    }
    assertArrayEquals(straight.tokens(), tokens.stream().mapToInt(Integer::intValue).toArray());
    assertEquals(uninterrupted.logits.size(), resumed.logits.size());
    for (int s = 0; s < total; s++) {
      assertArrayEquals(uninterrupted.logits.get(s), resumed.logits.get(s), "logits of step " + s);
    }
    long expectedSize = sizes.getFirst();
    System.out.println("session file: " + expectedSize + " bytes (state " + model.newState().sizeBytes()
        + " bytes) after " + (prompt.length + splits[0]) + " ... " + (prompt.length + total) + " tokens");
    for (long size : sizes) {
      assertEquals(expectedSize, size, "the file size does not depend on the position");
    }
  }

  @Test
  void saveAndLoadRestoreEveryPart() throws Exception {
    Session session = new Session(model, null, SAMPLED);
    session.generate(prompt, tokens(5), GenerationListener.NONE);
    Path file = dir.resolve("s.bin");
    session.save(file);
    Session loaded = new Session(model, null, SAMPLED);
    loaded.load(file);
    assertEquals(session.position(), loaded.position());
    assertEquals(session.pendingToken(), loaded.pendingToken());
    assertArrayEquals(session.recentTokens(), loaded.recentTokens());
    assertEquals(session.sampler().rngState(), loaded.sampler().rngState());
    for (int i = 0; i < model.config().numLayers(); i++) {
      switch (session.state().layer(i)) {
        case dev.rgemma.model.LayerState.RecurrentState r -> {
          var l = (dev.rgemma.model.LayerState.RecurrentState) loaded.state().layer(i);
          assertArrayEquals(r.convWindow(), l.convWindow());
          assertArrayEquals(r.h(), l.h());
        }
        case dev.rgemma.model.LayerState.AttentionState a -> {
          var l = (dev.rgemma.model.LayerState.AttentionState) loaded.state().layer(i);
          assertArrayEquals(a.keys(), l.keys());
          assertArrayEquals(a.values(), l.values());
        }
      }
    }
    assertEquals(SessionFile.byteSize(session.state(), 16,
        session.fingerprint().description().getBytes(java.nio.charset.StandardCharsets.UTF_8).length), Files.size(file));
  }

  private Path savedSession() throws Exception {
    Session session = new Session(model, null, SAMPLED);
    session.generate(prompt, tokens(3), GenerationListener.NONE);
    Path file = dir.resolve("saved.rgsession");
    session.save(file);
    return file;
  }

  private static String loadError(RecurrentGemmaModel into, Path file) {
    Session session = new Session(into, null, SAMPLED);
    return assertThrows(RgemmaException.class, () -> session.load(file)).getMessage();
  }

  @Test
  void anotherModelIsRefused() throws Exception {
    Path file = savedSession();
    try (RecurrentGemmaModel other = RecurrentGemmaModel.load(Fixtures.dir("tiny-a/bf16"))) {
      String message = loadError(other, file);
      assertTrue(message.contains("another model"), message);
      assertTrue(message.contains(file.toString()), message);
    }
  }

  @Test
  void aDamagedFileIsRefused() throws Exception {
    Path file = savedSession();
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 0x10;
    Files.write(file, bytes);
    String message = loadError(model, file);
    assertTrue(message.contains("damaged") && message.contains("checksum"), message);

    Path cut = dir.resolve("cut.rgsession");
    Files.write(cut, java.util.Arrays.copyOf(Files.readAllBytes(savedSession()), 100));
    message = loadError(model, cut);
    assertTrue(message.contains("damaged") && message.contains("truncated"), message);
  }

  @Test
  void aTruncatedFileIsReportedAsTruncatedNotAsAChecksumMismatch() throws Exception {
    byte[] whole = Files.readAllBytes(savedSession());
    Path cut = dir.resolve("cut.rgsession");
    Files.write(cut, java.util.Arrays.copyOf(whole, whole.length - 10));
    String message = loadError(model, cut);
    assertTrue(message.contains("truncated (expected " + whole.length + " bytes, found " + (whole.length - 10) + ")"),
        message);
  }

  @Test
  void aDirectoryIsNamedAsOne() throws Exception {
    String message = loadError(model, dir);
    assertTrue(message.contains(dir + " is a directory"), message);
    Session session = new Session(model, null, SAMPLED);
    message = assertThrows(RgemmaException.class, () -> session.save(dir)).getMessage();
    assertTrue(message.contains(dir + " is a directory"), message);
  }

  @Test
  void aSavedFileHasTheUsualPermissions() throws Exception {
    NewFiles.assertPermissionsOfANewFile(savedSession());
  }

  @Test
  void aNewerFormatVersionIsRefused() throws Exception {
    Path file = savedSession();
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, SessionFile.VERSION + 1);
    Files.write(file, bytes);
    String message = loadError(model, file);
    assertTrue(message.contains("newer rgemma") && message.contains("version " + (SessionFile.VERSION + 1)), message);
  }

  @Test
  void notASessionFileIsRefused() throws Exception {
    Path file = dir.resolve("notes.txt");
    Files.writeString(file, "hello, this is not a session");
    String message = loadError(model, file);
    assertTrue(message.contains("not an rgemma session file"), message);
    assertThrows(NoSuchFileException.class,
        () -> new Session(model, null, SAMPLED).load(dir.resolve("missing.rgsession")));
  }
}
