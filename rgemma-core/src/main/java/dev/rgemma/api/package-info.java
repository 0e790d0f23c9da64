/**
 * rgemma's public API: load a RecurrentGemma model, open sessions on it, and generate text.
 *
 * <pre>{@code
 * try (RgemmaModel model = RgemmaModel.load(Path.of("models/demo"))) {
 *   RgemmaSession session = model.newSession();
 *   GenerateOptions options = GenerateOptions.builder().maxTokens(100).temperature(0.7).seed(1).build();
 *
 *   Completion c = session.generate("Call me Ishmael.", options, System.out::print); // streams text
 *   System.out.println(" [" + c.finishReason() + ", " + c.generatedTokens() + " tokens]");
 *
 *   try (TextStream more = session.stream(" Some years ago", options)) {     // Iterator / Stream
 *     more.forEachRemaining(System.out::print);
 *   }
 *   session.save(Path.of("ishmael.rgsession"));                            // continue later
 * }
 * }</pre>
 *
 * <ul>
 *   <li>{@link dev.rgemma.api.RgemmaModel}: a checkpoint directory, a GGUF file or the demo model;
 *       token counting; thread-safe, shared by any number of sessions; close it to release the
 *       mapped files.
 *   <li>{@link dev.rgemma.api.RgemmaSession}: one conversation or document; generate text or chat
 *       (blocking, with a callback, or as a {@link dev.rgemma.api.TextStream}); save and restore.
 *       One thread at a time.
 *   <li>{@link dev.rgemma.api.GenerateOptions}: sampling, stop sequences, limits.
 *   <li>{@link dev.rgemma.api.Completion}, {@link dev.rgemma.api.FinishReason}: what a generation did.
 * </ul>
 *
 * <p>Errors caused by input (a damaged checkpoint, a session file of another model, an option out
 * of range) throw {@link dev.rgemma.RgemmaException}, {@link java.io.IOException} or
 * {@link java.lang.IllegalArgumentException} with a message naming the file, field or value and
 * what was expected. Only this package and {@code dev.rgemma} (the exception) are the supported
 * API; the engine's other packages may change between versions.
 */
package dev.rgemma.api;
