using Qwen.Inference.Model;

namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// The real ONNX runner with a probe on the engine loop thread: it tells which prompt each slot prefills (by a marker
/// token in the prompt's first chunk) and how far each one got, and it can hold the engine inside a chosen prefill
/// chunk (<see cref="Arm"/>), so a test can abort a request at a point it knows: mid-prefill, before any token exists.
/// It can also hold every decode step (<see cref="HoldDecodes"/>), so admitted streams stay running as long as a test needs.
/// Prefill and Decode run on the engine thread only (the runner contract); the rest is guarded by a lock.
/// </summary>
internal sealed class ProbedRunner(IModelRunner inner) : IModelRunner
{
    private readonly Lock _lock = new();
    private readonly (int Marker, int Sequence)[] _slots = new (int, int)[inner.MaxNumSeqs];
    private readonly Dictionary<int, (int Marker, int Prefilled)> _records = [];
    private int[] _markers = [];
    private int _sequences;
    private readonly List<PrefillHold> _armed = [];
    private RunnerGate? _decodeHold;

    public int VocabSize => inner.VocabSize;

    public int MaxNumSeqs => inner.MaxNumSeqs;

    public int MaxModelLen => inner.MaxModelLen;

    public double AttentionCostPerKey => inner.AttentionCostPerKey;

    /// <summary>The marker tokens to look for in a prompt's first chunk (the first one found names the prompt's kind).</summary>
    public void SetMarkers(params int[] markers)
    {
        lock (_lock)
        {
            _markers = markers;
        }
    }

    /// <summary>Holds the next prefill chunk, at or after <paramref name="minPast"/> cached tokens, of a prompt marked <paramref name="marker"/> that starts from now on.</summary>
    public PrefillHold Arm(int marker, int minPast) => Add(marker, minPast, blocking: true);

    /// <summary>Signals (without holding) when the first prefill chunk of a prompt marked <paramref name="marker"/> that starts from now on runs.</summary>
    public PrefillHold Watch(int marker) => Add(marker, 0, blocking: false);

    private PrefillHold Add(int marker, int minPast, bool blocking)
    {
        lock (_lock)
        {
            if (_armed.Any(h => h.Marker == marker || (blocking && h.Blocking)))
            {
                throw new InvalidOperationException("one watch per marker and one blocking hold at a time (the engine has one thread)");
            }
            var hold = new PrefillHold(marker, _sequences, minPast, blocking);
            _armed.Add(hold);
            return hold;
        }
    }

    /// <summary>Disarms <paramref name="hold"/> if it never fired (its request was refused or aborted before prefill).</summary>
    public void Disarm(PrefillHold hold)
    {
        lock (_lock)
        {
            _armed.Remove(hold);
        }
    }

    /// <summary>Holds every decode step from now on until the returned gate opens (a fresh gate each call).</summary>
    public RunnerGate HoldDecodes()
    {
        var gate = new RunnerGate();
        Volatile.Write(ref _decodeHold, gate);
        return gate;
    }

    /// <summary>Forgets the prompts seen so far (after a warm-up).</summary>
    public void ResetRecords()
    {
        lock (_lock)
        {
            _records.Clear();
        }
    }

    /// <summary>For each prompt seen with <paramref name="marker"/>: how many of its tokens reached the KV cache before it left or finished prefilling.</summary>
    public List<int> Prefilled(int marker)
    {
        lock (_lock)
        {
            return _records.Values.Where(r => r.Marker == marker).Select(r => r.Prefilled).ToList();
        }
    }

    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits)
    {
        PrefillHold? hold = null;
        int sequence;
        lock (_lock)
        {
            if (pastLength == 0)
            {
                var marker = -1;
                foreach (var m in _markers)
                {
                    if (tokens.Contains(m))
                    {
                        marker = m;
                        break;
                    }
                }
                _slots[slot] = (marker, ++_sequences);
                _records[_sequences] = (marker, 0);
            }
            sequence = _slots[slot].Sequence;
            var marked = _slots[slot].Marker;
            hold = _armed.FirstOrDefault(a => a.Marker == marked && sequence > a.AfterSequence && pastLength >= a.MinPast);
            if (hold is not null)
            {
                _armed.Remove(hold);
            }
        }
        if (hold is not null)
        {
            hold.Reached.TrySetResult(pastLength);
            if (hold.Blocking)
            {
                hold.Released.Wait(TimeSpan.FromSeconds(30));
            }
        }
        inner.Prefill(slot, tokens, pastLength, logits);
        lock (_lock)
        {
            _records[sequence] = (_records[sequence].Marker, pastLength + tokens.Length);
        }
    }

    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
    {
        Volatile.Read(ref _decodeHold)?.Block();
        inner.Decode(tokens, pastLengths, logits);
    }

    /// <summary>
    /// Not followed: a sequence is recognised by its first chunk starting at position 0, so the fixtures that probe run
    /// without prefix caching (which would start a new sequence's first chunk after a reused prefix).
    /// </summary>
    public void CopyKv(int from, int to, int length) => throw new NotSupportedException("ProbedRunner follows sequences by their first chunk at position 0: run its server with --prefix-caching false");

    public void SwapKv(int a, int b, int length)
    {
        inner.SwapKv(a, b, length);
        lock (_lock)
        {
            (_slots[a], _slots[b]) = (_slots[b], _slots[a]); // a sequence still prefilling moves with its rows
        }
    }

    public void Dispose() => inner.Dispose();
}
