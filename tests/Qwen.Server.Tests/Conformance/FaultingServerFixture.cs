using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Conformance;

/// <summary>
/// The real server over a <see cref="ScriptedRunner"/> that can be told to fail a later decode step, as a crashed
/// model would: the engine fails the running sequences, so a stream meets an error after it started.
/// </summary>
public sealed class FaultingServerFixture : ServerFixture
{
    public FaultingServerFixture()
        : base([], (_, o) => new FaultingRunner(new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen)))
    {
    }

    private FaultingRunner Runner => (FaultingRunner)CreatedRunner!;

    /// <summary>Registers the tokens the model will "write" when the prompt contains <paramref name="key"/>.</summary>
    public void Script(string key, string output)
        => Runner.Inner.AddScript(Model.Tokenizer.Encode(key), Model.Tokenizer.Encode(output));

    /// <summary>The next <paramref name="steps"/> decode steps succeed and the one after throws (once).</summary>
    public void FailAfter(int steps) => Interlocked.Exchange(ref Runner.StepsBeforeFault, steps);

    /// <summary>Delegates to the scripted runner; throws from the armed decode step (engine loop thread only).</summary>
    private sealed class FaultingRunner(ScriptedRunner inner) : IModelRunner
    {
        public int StepsBeforeFault = -1; // -1: never

        public ScriptedRunner Inner => inner;

        public int VocabSize => inner.VocabSize;

        public int MaxNumSeqs => inner.MaxNumSeqs;

        public int MaxModelLen => inner.MaxModelLen;

        public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits) => inner.Prefill(slot, tokens, pastLength, logits);

        public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
        {
            if (StepsBeforeFault >= 0 && Interlocked.Decrement(ref StepsBeforeFault) < 0)
            {
                throw new InvalidOperationException("scripted model fault");
            }
            inner.Decode(tokens, pastLengths, logits);
        }

        public void CopyKv(int from, int to, int length) => inner.CopyKv(from, to, length);

        public void SwapKv(int a, int b, int length) => inner.SwapKv(a, b, length);

        public void Dispose() => inner.Dispose();
    }
}
