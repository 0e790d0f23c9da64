package dev.rgemma.training;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rgemma.RgemmaException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads every tensor of a small {@code .safetensors} file into float arrays (F32, BF16, F16). The
 * trainer only loads its own checkpoints and optimizer states, which fit in memory.
 */
final class CheckpointTensors {
  record Tensor(String dtype, long[] shape, float[] values) {}

  private CheckpointTensors() {}

  static Map<String, Tensor> read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) {
        throw new RgemmaException(file + ": not a safetensors file (only " + size + " bytes)");
      }
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long headerLen = lenBuf.flip().getLong();
      if (headerLen <= 0 || headerLen > Math.min(size - 8, 100_000_000)) {
        throw new RgemmaException(file + ": bad safetensors header length " + headerLen);
      }
      ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
      readFully(ch, headerBuf, 8);
      JsonNode header = new ObjectMapper()
          .readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
      long dataStart = 8 + headerLen;
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          continue;
        }
        JsonNode info = e.getValue();
        String dtype = info.path("dtype").asText();
        long[] shape = new long[info.path("shape").size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
          shape[i] = info.path("shape").get(i).asLong();
          count *= shape[i];
        }
        long begin = info.path("data_offsets").get(0).asLong();
        long end = info.path("data_offsets").get(1).asLong();
        int width = switch (dtype) {
          case "F32" -> 4;
          case "BF16", "F16" -> 2;
          default -> throw new RgemmaException(file + ": tensor " + e.getKey()
              + ": dtype " + dtype + " not supported here (expected F32, BF16 or F16)");
        };
        if (end - begin != count * width || dataStart + end > size || begin < 0) {
          throw new RgemmaException(file + ": tensor " + e.getKey() + ": data_offsets ["
              + begin + ", " + end + "] do not fit shape " + Arrays.toString(shape) + " " + dtype);
        }
        ByteBuffer data = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, data, dataStart + begin);
        data.flip();
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
          values[i] = switch (dtype) {
            case "F32" -> data.getFloat();
            case "BF16" -> Float.intBitsToFloat((data.getShort() & 0xFFFF) << 16);
            default -> Float.float16ToFloat(data.getShort());
          };
        }
        out.put(e.getKey(), new Tensor(dtype, shape, values));
      }
      return out;
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) {
        throw new RgemmaException("unexpected end of file at byte " + pos);
      }
      pos += n;
    }
  }
}
