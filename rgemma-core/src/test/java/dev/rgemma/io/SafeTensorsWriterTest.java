package dev.rgemma.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.tensor.DType;
import dev.rgemma.testing.NewFiles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsWriterTest {
  @Test
  void writesTheSafetensorsLayoutByteForByte(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("t.safetensors");
    new SafeTensorsWriter()
        .metadata("format", "pt")
        .add("a", DType.F32, new long[] {2, 2}, new float[] {1f, -2f, 0.5f, 3f})
        .add("b", DType.BF16, new long[] {3}, new float[] {1f, 1.00390625f, -0.0f})
        .write(file);
    byte[] bytes = Files.readAllBytes(file);
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long headerLen = buf.getLong();
    assertEquals(0, headerLen % 8, "header padded to 8 bytes");
    JsonNode header = new ObjectMapper().readTree(SafeTensorsWriter.headerJsonForTest(bytes));
    assertEquals("pt", header.at("/__metadata__/format").asText());
    assertEquals("F32", header.at("/a/dtype").asText());
    assertEquals(2, header.at("/a/shape/1").asInt());
    assertEquals(0, header.at("/a/data_offsets/0").asInt());
    assertEquals(16, header.at("/a/data_offsets/1").asInt());
    assertEquals("BF16", header.at("/b/dtype").asText());
    assertEquals(16, header.at("/b/data_offsets/0").asInt());
    assertEquals(22, header.at("/b/data_offsets/1").asInt());
    assertEquals(8 + headerLen + 22, bytes.length);
    buf.position((int) (8 + headerLen));
    assertEquals(1f, buf.getFloat());
    assertEquals(-2f, buf.getFloat());
    assertEquals(0.5f, buf.getFloat());
    assertEquals(3f, buf.getFloat());
    assertEquals((short) 0x3F80, buf.getShort()); // 1.0
    // 1.00390625 = 1 + 2^-8 lies exactly between two bf16 values: ties to even (1.0)
    assertEquals((short) 0x3F80, buf.getShort());
    assertEquals((short) 0x8000, buf.getShort()); // -0.0
    NewFiles.assertPermissionsOfANewFile(file);
  }

  @Test
  void bf16RoundsToNearestEven() {
    assertEquals((short) 0x3F82, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3F818000))); // tie, odd -> even
    assertEquals((short) 0x3F80, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3F807FFF)));
    assertEquals((short) 0x3F81, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3F808001)));
    assertTrue(Float.isNaN(Float.intBitsToFloat(SafeTensorsWriter.toBf16(Float.NaN) << 16)));
  }

  @Test
  void rejectsAShapeThatDoesNotMatchTheValues() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new SafeTensorsWriter().add("w", DType.F32, new long[] {2, 3}, new float[5]));
    assertTrue(e.getMessage().contains("w") && e.getMessage().contains("6"), e.getMessage());
  }
}
