/// LoupeNotebook: the .nb format, its dependency graph, the cell cache, the runner, reports and snapshot tests.
public enum LoupeNotebook {}
