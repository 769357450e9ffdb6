using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Robustness;

/// <summary>The real server with 2 slots and a waiting queue of 2 (a fifth concurrent request is already too many), behind a <see cref="ProbedRunner"/> that can hold its decode steps.</summary>
public sealed class OverloadServerFixture : LimitedServerFixture
{
    public const int OverloadSlots = 2;
    public const int OverloadWaiting = 2;

    public OverloadServerFixture()
        : base(OverloadSlots, OverloadWaiting, (dir, options) => new ProbedRunner(OnnxModelRunner.Create(dir, options)), "--prefix-caching", "false") // ProbedRunner follows first chunks
    {
    }

    internal ProbedRunner Runner => (ProbedRunner)CreatedRunner!;
}
