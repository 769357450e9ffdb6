namespace Qwen.Bench.Llama;

/// <summary>
/// One tensor of a GGUF file: its name, its dimensions in ggml's order (innermost first: a Hugging Face Linear weight
/// [out, in] is [in, out] here, the same bytes), its type, its size in bytes and a callback that writes exactly those bytes.
/// </summary>
internal sealed record GgufTensor(string Name, long[] Dimensions, GgmlType Type, long ByteLength, Action<Stream> WriteData);
