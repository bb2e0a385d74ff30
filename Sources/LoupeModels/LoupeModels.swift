/// LoupeModels: GGUF and safetensors files, tokenizers, architectures, inference, generation and hooks.
/// It knows nothing of the language: the `model` namespace in LoupeLibrary binds it.
public enum LoupeModels {}
