package dev.sidecars.runtime.tls;

import java.nio.file.Path;

/** A TLS file that cannot be used, with the variable that names it and what was expected instead. */
final class TlsFileException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String variable;
  private final transient Path file;
  private final String expected;

  TlsFileException(String variable, Path file, String expected) {
    this(variable, file, expected, null);
  }

  TlsFileException(String variable, Path file, String expected, Throwable cause) {
    super(variable + "=\"" + file + "\": expected " + expected, cause);
    this.variable = variable;
    this.file = file;
    this.expected = expected;
  }

  String variable() {
    return variable;
  }

  Path file() {
    return file;
  }

  String expected() {
    return expected;
  }
}
