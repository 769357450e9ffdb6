using Qwen.Inference.Model;

namespace Qwen.Inference.Tests.Scheduling;

/// <summary>
/// A deterministic stand-in for the model: the next token is a hash of the slot's whole token history, with a large
/// margin, so any mix-up of slots, positions or histories changes the output. Records every call for inspection.
/// </summary>
internal sealed class FakeRunner(int vocabSize = 1000, int maxNumSeqs = 4, int maxModelLen = 256) : IModelRunner
{
    private readonly Dictionary<int, List<int>> _history = [];

    public int VocabSize { get; } = vocabSize;

    public int MaxNumSeqs { get; } = maxNumSeqs;

    public int MaxModelLen { get; } = maxModelLen;

    public List<string> Calls { get; } = [];

    /// <summary>Every token fed to a decode row, in order (an idle row would feed 0, which <see cref="Next"/> never gives).</summary>
    public List<int> DecodedTokens { get; } = [];

    public TimeSpan Delay { get; set; }

    /// <summary>What the runner tells the scheduler about its attention's cost (0: unknown, fixed chunks).</summary>
    public double AttentionCostPerKey { get; init; }

    /// <summary>When set, each decode step takes one permit first: a test paces the engine against its reader.</summary>
    public SemaphoreSlim? DecodeGate { get; set; }

    public bool Disposed { get; private set; }

    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits)
    {
        Thread.Sleep(Delay);
        lock (Calls)
        {
            Calls.Add($"prefill slot={slot} n={tokens.Length} past={pastLength}");
        }
        var h = History(slot, pastLength);
        h.AddRange(tokens.ToArray());
        Write(logits, h);
    }

    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
    {
        DecodeGate?.Wait();
        Thread.Sleep(Delay);
        lock (Calls)
        {
            Calls.Add($"decode b={tokens.Length}");
        }
        for (var b = 0; b < tokens.Length; b++)
        {
            DecodedTokens.Add(tokens[b]);
            var h = History(b, pastLengths[b]);
            h.Add(tokens[b]);
            Write(logits.Slice(b * VocabSize, VocabSize), h);
        }
    }

    public void CopyKv(int from, int to, int length)
    {
        lock (Calls)
        {
            Calls.Add($"copy from={from} to={to} n={length}");
        }
        // Positions [0, length) of the target become the source's; the source must hold them (else this throws).
        var source = _history[from].GetRange(0, length);
        var target = History(to, Count(to));
        target.RemoveRange(0, Math.Min(length, target.Count));
        target.InsertRange(0, source);
    }

    public void SwapKv(int a, int b, int length)
    {
        lock (Calls)
        {
            Calls.Add($"swap a={a} b={b} n={length}");
        }
        // Positions [0, length) trade places; a slot holding fewer keeps whatever the other had beyond its own end.
        var (ha, hb) = (History(a, Math.Min(length, Count(a))), History(b, Math.Min(length, Count(b))));
        (_history[a], _history[b]) = (hb, ha);
    }

    /// <summary>What the model would answer alone for <paramref name="prompt"/>: the oracle for batching tests.</summary>
    public static List<int> Expected(int[] prompt, int count, int vocab = 1000)
    {
        var h = new List<int>(prompt);
        var result = new List<int>();
        for (var i = 0; i < count; i++)
        {
            var next = Next(h, vocab);
            result.Add(next);
            h.Add(next);
        }
        return result;
    }

    public void Dispose() => Disposed = true;

    private int Count(int slot) => _history.TryGetValue(slot, out var h) ? h.Count : 0;

    private List<int> History(int slot, int pastLength)
    {
        if (!_history.TryGetValue(slot, out var h))
        {
            _history[slot] = h = [];
        }
        // The cache holds exactly pastLength tokens: anything beyond was an idle row's write, overwritten now.
        h.RemoveRange(pastLength, h.Count - pastLength);
        return h;
    }

    private void Write(Span<float> row, List<int> history)
    {
        row.Clear();
        row[Next(history, VocabSize)] = 50f;
    }

    private static int Next(List<int> history, int vocab)
    {
        var x = 17UL;
        foreach (var t in history)
        {
            x = (x * 1_000_003UL) ^ (ulong)t;
        }
        return (int)(x % (ulong)(vocab - 1)) + 1; // never 0, the idle rows' dummy token
    }
}
