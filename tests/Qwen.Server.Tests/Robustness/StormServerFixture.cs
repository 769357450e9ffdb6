using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// The real server for the disconnect storm: the tiny test model behind a <see cref="ProbedRunner"/>, 4 KV slots of
/// 2,048 tokens (room for 1,500-token prompts, prefilled in chunks of 256), 64 waiting (the server default).
/// </summary>
public sealed class StormServerFixture : ServerFixture
{
    public const int Slots = 4;
    public const int MaxModelLen = 2048;
    public const int ChunkSize = 256;

    public StormServerFixture()
        : base(["--max-num-seqs", $"{Slots}", "--max-waiting", "64", "--max-model-len", $"{MaxModelLen}", "--prefill-chunk-size", $"{ChunkSize}", "--prefix-caching", "false"], // ProbedRunner follows first chunks
            (dir, options) => new ProbedRunner(OnnxModelRunner.Create(dir, options)))
    {
    }

    internal ProbedRunner Runner => (ProbedRunner)CreatedRunner!;
}
