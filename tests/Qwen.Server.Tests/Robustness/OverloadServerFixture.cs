using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Robustness;

/// <summary>The real server with 2 slots and a waiting queue of 2 (a fifth concurrent request is already too many), its decode steps behind a <see cref="DecodeGateRunner"/>.</summary>
public sealed class OverloadServerFixture : LimitedServerFixture
{
    public const int OverloadSlots = 2;
    public const int OverloadWaiting = 2;

    private readonly Holder _holder;

    public OverloadServerFixture()
        : this(new Holder())
    {
    }

    private OverloadServerFixture(Holder holder)
        : base(OverloadSlots, OverloadWaiting, (dir, options) => holder.Runner = new DecodeGateRunner(OnnxModelRunner.Create(dir, options)))
        => _holder = holder;

    internal DecodeGateRunner Runner => _holder.Runner!;

    private sealed class Holder
    {
        public DecodeGateRunner? Runner { get; set; }
    }
}
