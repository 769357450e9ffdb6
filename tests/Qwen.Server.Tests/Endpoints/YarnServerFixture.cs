using Qwen.OnnxExport;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The real server on the tiny fp32 model exported with the model card's YaRN scaling (factor 4 over 32,768 positions):
/// slots of 65,536 tokens, two of them from a KV budget of 64 MiB (tiny fp32 keeps 2 layers x 2 KV heads x 16 x K,V x
/// 4 bytes = 512 bytes a token, 32 MiB a slot).
/// </summary>
public sealed class YarnServerFixture()
    : ServerFixture(["--model", ModelDirectory, "--served-model-name", "qwen2.5-tiny-yarn", "--max-model-len", $"{MaxModelLen}", "--kv-cache-memory", "64MiB"])
{
    /// <summary>Tokens per slot.</summary>
    public const int MaxModelLen = 65_536;

    /// <summary>The exported model directory; its Hugging Face checkpoint is in source/.</summary>
    public static string ModelDirectory => RandomModelCache.GetOrCreate("tiny", "fp32", 1234, yarn: 4.0);
}
