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

    public TimeSpan Delay { get; set; }

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
            var h = History(b, pastLengths[b]);
            h.Add(tokens[b]);
            Write(logits.Slice(b * VocabSize, VocabSize), h);
        }
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
