using Qwen.Inference.Engine;
using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Robustness;

/// <summary>The real server with the tiny test model and small limits: 4 KV slots of 512 tokens (all of them allowed to one request), 8 waiting, 1 MiB bodies.</summary>
public class LimitedServerFixture : ServerFixture
{
    public const int Slots = 4;

    /// <summary>The largest n: every slot (the fuzzer's n limits).</summary>
    public const int MaxSeqsPerRequest = Slots;
    public const int MaxModelLen = 512;
    public const int MaxBodyBytes = 1 << 20;

    public LimitedServerFixture()
        : this(Slots, 8)
    {
    }

    protected LimitedServerFixture(int slots, int waiting, Func<string, EngineOptions, IModelRunner>? runner = null, params string[] extraArgs)
        : base(["--max-num-seqs", $"{slots}", "--max-seqs-per-request", $"{slots}", "--max-waiting", $"{waiting}", "--max-model-len", $"{MaxModelLen}", "--max-request-body-bytes", $"{MaxBodyBytes}", .. extraArgs], runner)
    {
    }
}
