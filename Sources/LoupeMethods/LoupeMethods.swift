/// LoupeMethods: the research methods of specs/methods.md and their metrics, one file per method.
/// It knows nothing of the language: LoupeLibrary binds each method as a namespace.
public enum LoupeMethods {}
