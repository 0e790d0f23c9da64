package dev.rgemma.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rgemma.RgemmaException;
import dev.rgemma.tensor.DType;
import dev.rgemma.tensor.Quantize;
import dev.rgemma.testing.NewFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufTest {
  @TempDir Path dir;

  /** Little-endian bytes written by hand, independent of GgufWriter. */
  private static final class Bytes {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Bytes u32(long v) {
      out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
      return this;
    }

    Bytes u64(long v) {
      out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
      return this;
    }

    Bytes str(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      u64(b.length);
      out.writeBytes(b);
      return this;
    }

    Bytes raw(int... values) {
      for (int v : values) {
        out.write(v);
      }
      return this;
    }

    Bytes padTo(int alignment) {
      while (out.size() % alignment != 0) {
        out.write(0);
      }
      return this;
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }

  /** A small file: one string, one UINT32, an INT32 array; one F32 tensor [2, 3] (dims 3, 2). */
  private static byte[] handMade() {
    Bytes b = new Bytes();
    b.raw('G', 'G', 'U', 'F').u32(3).u64(1).u64(3);
    b.str("general.architecture").u32(8).str("recurrentgemma");
    b.str("answer").u32(4).u32(42);
    b.str("list").u32(9).u32(5).u64(2).u32(-1).u32(7);
    b.str("w").u32(2).u64(3).u64(2).u32(0).u64(0);
    b.padTo(32);
    for (int i = 0; i < 6; i++) {
      b.out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(i + 0.5f).array());
    }
    // Like ggml, the writer pads after every tensor, the last one included.
    return b.padTo(32).bytes();
  }

  /** End of the hand-made file's tensor data; the rest is padding. */
  private static final int HAND_MADE_DATA_END = 216;

  private Path write(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  @Test
  void readsHandMadeFile() throws IOException {
    try (GgufFile gguf = GgufFile.open(write("hand.gguf", handMade()))) {
      assertEquals(3, gguf.version());
      assertEquals(List.of("general.architecture", "answer", "list"), List.copyOf(gguf.metadata().keySet()));
      assertEquals("recurrentgemma", gguf.requireString("general.architecture"));
      assertEquals(42, gguf.require("answer").asLong());
      assertEquals(List.of(-1L, 7L), gguf.require("list").asList());
      GgufFile.Tensor w = gguf.tensors().get("w");
      assertEquals(DType.F32, w.dtype());
      assertArrayEquals(new long[] {3, 2}, w.dims());
      assertArrayEquals(new long[] {2, 3}, w.shape());
      float[] values = w.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
      assertArrayEquals(new float[] {0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f}, values);
    }
  }

  @Test
  void writerProducesTheHandMadeBytes() throws IOException {
    Path out = dir.resolve("written.gguf");
    new GgufWriter()
        .put("general.architecture", GgufValue.ofString("recurrentgemma"))
        .put("answer", GgufValue.ofUint32(42))
        .put("list", GgufValue.ofArray(GgufValue.Type.INT32, List.of(-1L, 7L)))
        .addTensor("w", DType.F32, new long[] {3, 2}, target -> {
          for (int i = 0; i < 6; i++) {
            target.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, i + 0.5f);
          }
        })
        .write(out, null);
    assertArrayEquals(handMade(), Files.readAllBytes(out));
    try (var files = Files.list(dir)) {
      assertEquals(1, files.filter(p -> p.getFileName().toString().contains("written")).count(),
          "no temporary file left behind");
    }
    NewFiles.assertPermissionsOfANewFile(out);
  }

  @Test
  void writerRefusesADirectoryOrAMissingDirectoryBeforeWritingTensors() throws IOException {
    boolean[] converted = {false};
    GgufWriter writer = new GgufWriter().addTensor("w", DType.F32, new long[] {1}, t -> converted[0] = true);
    String message = assertThrows(java.nio.file.FileSystemException.class, () -> writer.write(dir, null)).getMessage();
    assertTrue(message.contains(dir.toString()) && message.contains("is a directory"), message);
    Path orphan = dir.resolve("missing/out.gguf");
    message = assertThrows(java.nio.file.NoSuchFileException.class, () -> writer.write(orphan, null)).getMessage();
    assertTrue(message.contains("missing") && message.contains("does not exist"), message);
    assertTrue(!converted[0], "no tensor converted");
    try (var files = Files.list(dir)) {
      assertEquals(0, files.count(), "nothing written");
    }
  }

  @Test
  void roundTripsEveryValueTypeAndTensorType() throws IOException {
    GgufWriter writer = new GgufWriter()
        .put("u8", GgufValue.ofInteger(GgufValue.Type.UINT8, 255))
        .put("i8", GgufValue.ofInteger(GgufValue.Type.INT8, -128))
        .put("u16", GgufValue.ofInteger(GgufValue.Type.UINT16, 65535))
        .put("i16", GgufValue.ofInteger(GgufValue.Type.INT16, -32768))
        .put("u32", GgufValue.ofUint32(0xFFFF_FFFFL))
        .put("i32", GgufValue.ofInt32(Integer.MIN_VALUE))
        .put("u64", GgufValue.ofUint64(-1L))
        .put("i64", GgufValue.ofInt64(Long.MIN_VALUE))
        .put("f32", GgufValue.ofFloat32(-0.25f))
        .put("f64", GgufValue.ofFloat64(Math.PI))
        .put("bool", GgufValue.ofBool(true))
        .put("str", GgufValue.ofString("héllo ▁world"))
        .put("strings", GgufValue.ofArray(GgufValue.Type.STRING, List.of("a", "", "<unk>")))
        .put("floats", GgufValue.ofArray(GgufValue.Type.FLOAT32, List.of(1f, -2f)))
        .put("nested", GgufValue.ofArray(GgufValue.Type.ARRAY, List.of(
            GgufValue.ofArray(GgufValue.Type.BOOL, List.of(true, false)),
            GgufValue.ofArray(GgufValue.Type.UINT8, List.of()))))
        .put(GgufFile.ALIGNMENT_KEY, GgufValue.ofUint32(64));
    Random random = new Random(3);
    List<byte[]> expected = new ArrayList<>();
    for (DType type : DType.values()) {
      float[] values = new float[64 * 3];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      byte[] bytes = Quantize.to(type, values);
      expected.add(bytes);
      writer.addTensor("t." + type, type, new long[] {64, 3}, target -> target.copyFrom(MemorySegment.ofArray(bytes)));
    }
    writer.addTensor("vector", DType.F32, new long[] {5}, target -> target.fill((byte) 1));
    Path out = dir.resolve("all.gguf");
    List<String> progress = new ArrayList<>();
    writer.write(out, (name, done, total, bytesDone, bytesTotal) -> progress.add(name + " " + done + "/" + total));
    assertEquals(DType.values().length + 1, progress.size());
    try (GgufFile gguf = GgufFile.open(out)) {
      assertEquals(64, gguf.alignment());
      assertEquals(255, gguf.require("u8").asLong());
      assertEquals(-128, gguf.require("i8").asLong());
      assertEquals(65535, gguf.require("u16").asLong());
      assertEquals(-32768, gguf.require("i16").asLong());
      assertEquals(0xFFFF_FFFFL, gguf.require("u32").asLong());
      assertEquals(Integer.MIN_VALUE, gguf.require("i32").asLong());
      assertEquals(-1L, gguf.require("u64").asLong());
      assertEquals(GgufValue.Type.UINT64, gguf.require("u64").type());
      assertEquals(Long.MIN_VALUE, gguf.require("i64").asLong());
      assertEquals(-0.25f, gguf.require("f32").asFloat());
      assertEquals(Math.PI, (Double) gguf.require("f64").value());
      assertTrue(gguf.require("bool").asBool());
      assertEquals("héllo ▁world", gguf.requireString("str"));
      assertEquals(List.of("a", "", "<unk>"), gguf.require("strings").asList());
      assertEquals(List.of(1f, -2f), gguf.require("floats").asList());
      GgufValue nested = gguf.require("nested");
      assertEquals(GgufValue.Type.ARRAY, nested.elementType());
      assertEquals(List.of(true, false), ((GgufValue) nested.asList().get(0)).asList());
      assertEquals(GgufValue.Type.UINT8, ((GgufValue) nested.asList().get(1)).elementType());
      int i = 0;
      for (DType type : DType.values()) {
        GgufFile.Tensor t = gguf.tensors().get("t." + type);
        assertEquals(type, t.dtype());
        assertArrayEquals(new long[] {3, 64}, t.shape());
        assertArrayEquals(expected.get(i++), t.data().toArray(ValueLayout.JAVA_BYTE), type.toString());
        assertEquals(0, (t.data().address() - gguf.tensors().values().iterator().next().data().address()) % 64,
            "tensor data aligned to 64");
      }
      assertEquals(20, gguf.tensors().get("vector").data().byteSize());
    }
  }

  @Test
  void tensorDataMayBeWrittenFromOtherThreads() throws Exception {
    Path out = dir.resolve("threads.gguf");
    new GgufWriter().addTensor("t", DType.F32, new long[] {1024}, target -> {
      Thread worker = Thread.ofPlatform().start(() -> target.fill((byte) 0x3F));
      try {
        worker.join();
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
    }).write(out, null);
    try (GgufFile gguf = GgufFile.open(out)) {
      assertEquals((byte) 0x3F, gguf.tensors().get("t").data().get(ValueLayout.JAVA_BYTE, 4095));
    }
  }

  // ---- damaged files: every failure is a RgemmaException naming the file and the field ----

  private void assertDamaged(byte[] bytes, String... fragments) throws IOException {
    Path file = write("damaged.gguf", bytes);
    RgemmaException e = assertThrows(RgemmaException.class, () -> GgufFile.open(file).close());
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }
  }

  @Test
  void everyTruncationIsReported() throws IOException {
    byte[] whole = handMade();
    for (int length = 0; length < HAND_MADE_DATA_END; length++) {
      assertDamaged(java.util.Arrays.copyOf(whole, length));
    }
  }

  @Test
  void badMagicAndVersion() throws IOException {
    byte[] bytes = handMade();
    bytes[0] = 'X';
    assertDamaged(bytes, "magic", "not a GGUF file");
    bytes = handMade();
    bytes[4] = 1;
    assertDamaged(bytes, "version", "is 1");
  }

  @Test
  void impossibleCountsAndLengths() throws IOException {
    Bytes b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1_000_000_000_000L).padTo(64);
    assertDamaged(b.bytes(), "metadata count", "cannot fit");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).u64(Long.MAX_VALUE).padTo(64);
    assertDamaged(b.bytes(), "metadata key #0", "bytes");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).str("big").u32(9).u32(4).u64(1L << 40).padTo(64);
    assertDamaged(b.bytes(), "metadata 'big'", "cannot fit");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).str("odd").u32(13).padTo(64);
    assertDamaged(b.bytes(), "metadata 'odd'", "unknown value type 13");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).str("flag").u32(7).raw(2).padTo(64);
    assertDamaged(b.bytes(), "metadata 'flag'", "boolean");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).str("s").u32(8).u64(2).raw(0xC3, 0x28).padTo(64);
    assertDamaged(b.bytes(), "metadata 's'", "UTF-8");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).padTo(64);
    assertDamaged(b.bytes(), "metadata 'k'", "twice");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).str("general.alignment").u32(4).u32(48).padTo(64);
    assertDamaged(b.bytes(), "general.alignment", "power of two");
    b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(0).u64(1).str("general.alignment").u32(5).u32(32).padTo(64);
    assertDamaged(b.bytes(), "general.alignment", "expected UINT32");
  }

  private static Bytes oneTensor(int dimCount, long[] dims, long type, long offset) {
    Bytes b = new Bytes().raw('G', 'G', 'U', 'F').u32(3).u64(1).u64(0);
    b.str("w").u32(dimCount);
    for (long d : dims) {
      b.u64(d);
    }
    return b.u32(type).u64(offset).padTo(32);
  }

  @Test
  void badTensorInfos() throws IOException {
    byte[] data = new byte[256];
    Bytes b = oneTensor(5, new long[] {1, 1, 1, 1, 1}, 0, 0);
    b.out.writeBytes(data);
    assertDamaged(b.bytes(), "tensor 'w'", "5 dimensions");
    b = oneTensor(2, new long[] {4, 0}, 0, 0);
    b.out.writeBytes(data);
    assertDamaged(b.bytes(), "tensor 'w'", "dimension 1 is 0");
    b = oneTensor(1, new long[] {4}, 3, 0);
    b.out.writeBytes(data);
    assertDamaged(b.bytes(), "tensor 'w'", "ggml type 3 is not supported");
    b = oneTensor(1, new long[] {48}, 8, 0);
    b.out.writeBytes(data);
    assertDamaged(b.bytes(), "tensor 'w'", "multiple of 32");
    b = oneTensor(1, new long[] {4}, 0, 16);
    b.out.writeBytes(data);
    assertDamaged(b.bytes(), "tensor 'w'", "alignment");
    b = oneTensor(1, new long[] {65}, 0, 0);
    b.out.writeBytes(data);
    assertDamaged(b.bytes(), "tensor 'w'", "past the end");
    b = oneTensor(2, new long[] {1L << 31 - 1, 1L << 31 - 1}, 0, 0);
    assertDamaged(b.bytes(), "tensor 'w'");
  }

  @Test
  void writerRejectsBadInput() {
    GgufWriter writer = new GgufWriter();
    assertThrows(IllegalArgumentException.class, () -> writer.addTensor("q", DType.Q8_0, new long[] {48}, t -> {}));
    assertThrows(IllegalArgumentException.class, () -> writer.put(GgufFile.ALIGNMENT_KEY, GgufValue.ofUint32(24)));
    assertThrows(IllegalArgumentException.class, () -> GgufValue.ofArray(GgufValue.Type.STRING, List.of(1L)));
    assertThrows(IllegalArgumentException.class, () -> GgufValue.ofInteger(GgufValue.Type.UINT8, 256));
    writer.addTensor("a", DType.F32, new long[] {1}, t -> {});
    assertThrows(IllegalArgumentException.class, () -> writer.addTensor("a", DType.F32, new long[] {1}, t -> {}));
  }
}
