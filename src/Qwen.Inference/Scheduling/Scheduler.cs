using System.Diagnostics;
using Qwen.Inference.Engine;
using Qwen.Inference.KvCache;
using Qwen.Inference.Model;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.Scheduling;

/// <summary>
/// Iteration-level scheduling over the runner's KV slots. Every sequence gets an arrival number when it is enqueued.
/// The rule, applied once per engine step:
/// 1. Drop cancelled sequences (waiting or running) and free their slots.
/// 2. Admit waiting sequences while a slot is not held, fair share first: each such slot goes to the waiting sequence
///    whose group (<see cref="GenerationRequest.Group"/>: the choices of one request) holds the fewest slots, the oldest
///    arrival among equals. So requests take slots in turn: a small request waits for the next free slot, not for a big
///    request's remaining choices. A sequence without a group counts as holding none. The slot it gets: the free slot
///    whose kept contents share the longest prefix with its prompt, else an empty one, else the least recently used.
/// 3. Run ONE of: a decode step (one token for every sequence whose prompt is in the cache, batched over slots [0, B)
///    where B is their number: they are kept in the lowest slots, see below), or one prefill chunk (at most
///    PrefillChunkSize prompt tokens of the sequence still prefilling with the smallest arrival number, whatever its
///    slot; batch 1; shorter at long contexts while others decode, see <see cref="ScaledChunk"/>). When both are possible
///    they take turns, so running streams stall for at most one chunk per token however long an arriving prompt is.
/// 4. Sequences that finish (stop token, max_tokens, context full: prompt plus output reached MaxModelLen, or a token
///    constraint that allows nothing) leave at once and free their slot; so does one whose reader is MaxClientLag tokens
///    behind (its output channel is full): the loop never waits for a reader.
/// Prefix caching (<see cref="EngineOptions.PrefixCaching"/>): a freed slot keeps its contents (<see cref="PrefixIndex"/>
/// mirrors every write) until a new sequence needs it. When a sequence's first chunk is due, it takes the longest prefix
/// of its prompt that any slot holds (at most all but its last token, whose logits it needs): in place when its own slot
/// holds it, else copied from that slot (free, decoding, or prefilling: only what is already written), and prefills the
/// rest. The n choices of one request thus prefill once: the first in arrival order prefills the prompt, the others copy it.
/// No idle rows: before a decode step, a decoding sequence above slot B-1 swaps places with whatever is in a slot below
/// B (a sequence still prefilling, or kept contents): a copy when a sequence ends or joins, never one per step.
/// A decode step's rows are sampled first (from their candidates when the runner has them, fetching the full rows the
/// sampler asks for in one call; on the sampler pool's workers when there are many), then emitted in row order here.
/// Engine loop thread only. <c>ended</c> is told of every sequence whose output is completed, exactly once.
/// </summary>
internal sealed class Scheduler(IModelRunner runner, EngineOptions options, Action<Sequence>? ended = null)
{
    private readonly LinkedList<Sequence> _waiting = new();
    private readonly Sequence?[] _slots = new Sequence?[runner.MaxNumSeqs];
    private readonly SamplerPool _samplers = new(runner.VocabSize, options.ParallelSamplingMinRows);
    private readonly float[] _logits = new float[(long)runner.MaxNumSeqs * runner.VocabSize]; // [rows, vocab] full rows of the step
    private readonly int[] _tokens = new int[runner.MaxNumSeqs];
    private readonly int[] _pasts = new int[runner.MaxNumSeqs];
    private readonly int _k = runner.CandidateCount; // 0: every row is sampled from its full logits
    private readonly double _attentionCost = runner.AttentionCostPerKey; // 0: fixed prefill chunks (see ScaledChunk)
    private readonly float[] _topValues = new float[runner.MaxNumSeqs * runner.CandidateCount]; // [B, K]
    private readonly int[] _topIds = new int[runner.MaxNumSeqs * runner.CandidateCount];        // [B, K]
    private readonly float[] _logSumExp = new float[runner.MaxNumSeqs];                         // [B]
    private readonly int[] _rows = [.. Enumerable.Range(0, runner.MaxNumSeqs)]; // 0, 1, 2...: every decode row is a decoding sequence
    private readonly int[] _fullRows = new int[runner.MaxNumSeqs]; // rows whose full logits are in _logits, in that order
    private readonly int[] _fullRowOf = new int[runner.MaxNumSeqs]; // row -> its index in _logits, or -1
    private readonly CandidateOutcome[] _outcomes = new CandidateOutcome[runner.MaxNumSeqs];
    private readonly SampledToken[] _sampled = new SampledToken[runner.MaxNumSeqs];
    private readonly Dictionary<object, int> _held = new(ReferenceEqualityComparer.Instance); // group -> slots it holds, during Admit
    private readonly PrefixIndex _contents = new(runner.MaxNumSeqs);
    private long _arrivals;
    private bool _lastWasPrefill;

    /// <summary>Sequences whose prompt is in the cache: the rows of the next decode step.</summary>
    public int Running { get; private set; }

    /// <summary>Slots held, by decoding sequences and by prompts still being prefilled.</summary>
    public int SlotsUsed { get; private set; }

    public long KvTokensUsed { get; private set; }

    /// <summary>Prefix cache counters: sequences looked up and those that reused at least one token; prompt tokens looked up and reused.</summary>
    public PrefixCacheStats PrefixCache { get; private set; } = PrefixCacheStats.None;

    /// <summary>Time spent inside the runner (ONNX Runtime) and in the whole step, for the outside-Run share.</summary>
    public TimeSpan RunTime { get; private set; }

    public TimeSpan StepTime { get; private set; }

    public void Enqueue(Sequence sequence)
    {
        sequence.Arrival = _arrivals++;
        _waiting.AddLast(sequence);
    }

    /// <summary>Does one step; returns false when there was nothing to do.</summary>
    public bool Step()
    {
        var start = Stopwatch.GetTimestamp();
        DropCancelled();
        Admit();
        var decodable = false;
        Sequence? prefill = null;
        foreach (var s in _slots)
        {
            if (s is null)
            {
                continue;
            }
            if (s.IsPrefilling)
            {
                // The oldest arrival first, not the lowest slot: a newcomer in a freed low slot waits its turn.
                if (prefill is null || s.Arrival < prefill.Arrival)
                {
                    prefill = s;
                }
            }
            else
            {
                decodable = true;
            }
        }
        var did = true;
        if (decodable && (prefill is null || _lastWasPrefill))
        {
            Decode();
            _lastWasPrefill = false;
        }
        else if (prefill is not null)
        {
            PrefillChunk(prefill);
            _lastWasPrefill = true;
        }
        else
        {
            did = false;
        }
        UpdateStats();
        if (did)
        {
            StepTime += Stopwatch.GetElapsedTime(start);
        }
        return did;
    }

    /// <summary>Ends every sequence with <paramref name="error"/> (engine shutting down or failed).</summary>
    public void FailAll(Exception error)
    {
        foreach (var s in _waiting)
        {
            Complete(s, error);
        }
        _waiting.Clear();
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { } s)
            {
                _slots[i] = null;
                s.Slot = -1;
                Complete(s, error);
            }
        }
        UpdateStats();
    }

    private void DropCancelled()
    {
        for (var node = _waiting.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.Cancelled)
            {
                _waiting.Remove(node);
                Complete(node.Value, new OperationCanceledException());
            }
            node = next;
        }
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { Cancelled: true } s)
            {
                Release(s, new OperationCanceledException());
            }
        }
    }

    private void Admit()
    {
        if (_waiting.First is null)
        {
            return;
        }
        _held.Clear();
        foreach (var s in _slots)
        {
            if (s?.Request.Group is { } group)
            {
                _held[group] = _held.GetValueOrDefault(group) + 1;
            }
        }
        while (_waiting.First is not null && Array.IndexOf(_slots, null) >= 0)
        {
            var node = FairestWaiting();
            _waiting.Remove(node);
            var s = node.Value;
            s.Slot = FreeSlotFor(s);
            s.CacheLength = 0;
            _slots[s.Slot] = s;
            if (s.Request.Group is { } group)
            {
                _held[group] = _held.GetValueOrDefault(group) + 1;
            }
        }
    }

    /// <summary>
    /// The slot a new sequence should take, -1 when every slot is held: the free slot whose kept contents share the longest
    /// prefix with its prompt, else an empty one, else the least recently used (its contents are evicted when it is taken).
    /// Without prefix caching kept contents are worth nothing: the lowest free slot.
    /// </summary>
    private int FreeSlotFor(Sequence s)
    {
        if (options.PrefixCaching)
        {
            var (slot, length) = _contents.LongestPrefix(s.Request.PromptTokens, IsFree);
            if (length > 0)
            {
                return slot;
            }
        }
        var best = -1;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is null && (best < 0 || (options.PrefixCaching && Emptier(i, best))))
            {
                best = i;
            }
        }
        return best;
    }

    private bool Emptier(int a, int b)
    {
        var (la, lb) = (_contents.Length(a), _contents.Length(b));
        return la == 0 ? lb > 0 : lb > 0 && _contents.LastUsed(a) < _contents.LastUsed(b);
    }

    private bool IsFree(int slot) => _slots[slot] is null;

    private bool IsOther(int slot, Sequence s) => slot != s.Slot;

    /// <summary>
    /// The waiting sequence whose group holds the fewest slots, the oldest among equals (the list is in arrival order).
    /// The scan stops at the first group holding none: only the choices of requests already holding slots come before it.
    /// </summary>
    private LinkedListNode<Sequence> FairestWaiting()
    {
        var best = _waiting.First!;
        var fewest = int.MaxValue;
        for (var node = _waiting.First; node is not null; node = node.Next)
        {
            var held = node.Value.Request.Group is { } group ? _held.GetValueOrDefault(group) : 0;
            if (held < fewest)
            {
                (best, fewest) = (node, held);
                if (held == 0)
                {
                    break;
                }
            }
        }
        return best;
    }

    private void PrefillChunk(Sequence s)
    {
        var prompt = s.Request.PromptTokens;
        var row = _logits.AsSpan(0, runner.VocabSize);
        int n;
        try
        {
            var t = Stopwatch.GetTimestamp();
            if (s.CacheLength == 0)
            {
                ReusePrefix(s);
            }
            var chunk = options.ScalePrefillChunks && Running > 0 ? ScaledChunk(options.PrefillChunkSize, s.CacheLength, _attentionCost) : options.PrefillChunkSize;
            n = Math.Min(chunk, prompt.Length - s.CacheLength);
            runner.Prefill(s.Slot, prompt.AsSpan(s.CacheLength, n), s.CacheLength, row);
            RunTime += Stopwatch.GetElapsedTime(t);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Release(s, new InvalidOperationException($"prefill failed: {e.Message}", e));
            return;
        }
        _contents.Append(s.Slot, prompt.AsSpan(s.CacheLength, n));
        s.CacheLength += n;
        if (!s.IsPrefilling)
        {
            Emit(s, row);
        }
    }

    /// <summary>
    /// The most tokens (at least <see cref="EngineOptions.MinScaledChunk"/>, at most <paramref name="chunk"/>) that a chunk
    /// appended after <paramref name="past"/> tokens may hold so that its work, n·(1 + r·(past + (n + 1)/2)) in units of one
    /// token's linear layers (each new token attends to the past and to the new tokens up to itself), stays within that of
    /// <paramref name="chunk"/> tokens at the start of a prompt; <paramref name="r"/> is the runner's attention cost per key
    /// (0: unknown, full chunks).
    /// </summary>
    internal static int ScaledChunk(int chunk, int past, double r)
    {
        if (r <= 0)
        {
            return chunk;
        }
        var budget = chunk * (1 + (r * (chunk + 1) / 2));
        // The work is increasing in n: the positive root of (r/2)n² + (1 + r(past + 1/2))n − budget, rounded down, written
        // as 2·budget / (b + √(b² + 2r·budget)) so that a small r loses no digits to cancellation.
        var b = 1 + (r * (past + 0.5));
        var n = 2 * budget / (b + Math.Sqrt((b * b) + (2 * r * budget)));
        return Math.Clamp((int)Math.Floor(n + 1e-9), Math.Min(chunk, EngineOptions.MinScaledChunk), chunk);
    }

    /// <summary>
    /// Before a sequence's first chunk: the longest prefix of its prompt any slot holds, all but its last token at most
    /// (whose logits it needs), stays in its own slot or is copied there; its slot keeps nothing else. Without prefix
    /// caching the slot is emptied.
    /// </summary>
    private void ReusePrefix(Sequence s)
    {
        var prompt = s.Request.PromptTokens;
        var reuse = 0;
        if (options.PrefixCaching)
        {
            var most = prompt.Length - 1;
            reuse = Math.Min(_contents.MatchLength(s.Slot, prompt), most);
            var (other, length) = _contents.LongestPrefix(prompt, slot => IsOther(slot, s));
            if (Math.Min(length, most) > reuse)
            {
                reuse = Math.Min(length, most);
                try
                {
                    runner.CopyKv(other, s.Slot, reuse);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    _contents.Truncate(s.Slot, 0); // what the copy left in the slot is unknown
                    throw;
                }
                _contents.CopyPrefix(other, s.Slot, reuse);
                _contents.Touch(other);
            }
            PrefixCache = PrefixCache.Add(prompt.Length, reuse);
        }
        _contents.Truncate(s.Slot, reuse);
        s.CacheLength = reuse;
        s.CachedTokens = reuse;
    }

    private void Decode()
    {
        int batch;
        try
        {
            var t = Stopwatch.GetTimestamp();
            batch = Compact();
            RunTime += Stopwatch.GetElapsedTime(t);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            FailDecoding(new InvalidOperationException($"moving a sequence between KV slots failed: {e.Message}", e));
            return;
        }
        for (var i = 0; i < batch; i++)
        {
            var s = _slots[i]!;
            _tokens[i] = s.NextInput;
            _pasts[i] = s.CacheLength;
        }
        int listed;
        try
        {
            var t = Stopwatch.GetTimestamp();
            listed = RunDecode(batch);
            RunTime += Stopwatch.GetElapsedTime(t);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            FailDecoding(new InvalidOperationException($"decode failed: {e.Message}", e));
            return;
        }
        for (var i = 0; i < batch; i++)
        {
            _contents.Append(i, _tokens[i]);
            _slots[i]!.CacheLength++;
        }
        _samplers.ForEach(_rows, 0, batch, SampleRow);
        SampleFullRowsOfUndecided(batch, listed);
        for (var i = 0; i < batch; i++)
        {
            if (_slots[i] is { } s)
            {
                Finish(s, _outcomes[i] == CandidateOutcome.Sampled, _sampled[i]);
            }
        }
    }

    /// <summary>
    /// Moves the decoding sequences into slots [0, B), B being their number, and returns B: each one above B-1 swaps places
    /// (and cache rows) with what a slot below B holds, a sequence still prefilling or a free slot's kept contents, so
    /// both keep their contents. Only sequences that ended or finished prefilling since the last step cause a swap.
    /// </summary>
    private int Compact()
    {
        var batch = 0;
        foreach (var s in _slots)
        {
            batch += s is { IsPrefilling: false } ? 1 : 0;
        }
        var high = _slots.Length - 1;
        for (var low = 0; low < batch; low++)
        {
            if (_slots[low] is { IsPrefilling: false })
            {
                continue;
            }
            while (_slots[high] is not { IsPrefilling: false })
            {
                high--;
            }
            SwapSlots(low, high);
        }
        return batch;
    }

    private void SwapSlots(int a, int b)
    {
        var length = Math.Max(_contents.Length(a), _contents.Length(b));
        try
        {
            runner.SwapKv(a, b, length);
        }
        catch
        {
            // What the failed swap left in either slot is unknown: neither keeps contents that others could reuse.
            _contents.Truncate(a, 0);
            _contents.Truncate(b, 0);
            throw;
        }
        _contents.Swap(a, b);
        (_slots[a], _slots[b]) = (_slots[b], _slots[a]);
        if (_slots[a] is { } sa)
        {
            sa.Slot = a;
        }
        if (_slots[b] is { } sb)
        {
            sb.Slot = b;
        }
    }

    /// <summary>Ends every decoding sequence with <paramref name="error"/> (a decode Run or a swap before it failed).</summary>
    private void FailDecoding(Exception error)
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] is { IsPrefilling: false } failed)
            {
                Release(failed, error);
            }
        }
    }

    /// <summary>
    /// The decode Run. Without candidates (or with fewer running rows than CandidatesMinRows): every row's full logits, row b
    /// at b. With them: each row's candidates, and up front the full rows of the sequences whose settings can never be
    /// sampled from candidates alone. Returns the rows of
    /// full logits written into <see cref="_logits"/>.
    /// </summary>
    private int RunDecode(int batch)
    {
        if (_k == 0 || batch < options.CandidatesMinRows)
        {
            runner.Decode(_tokens.AsSpan(0, batch), _pasts.AsSpan(0, batch), _logits.AsSpan(0, batch * runner.VocabSize));
            for (var i = 0; i < batch; i++)
            {
                _fullRowOf[i] = i;
            }
            return batch;
        }
        var listed = 0;
        for (var row = 0; row < batch; row++)
        {
            _fullRowOf[row] = -1;
            if (!options.MayUseCandidates(_slots[row]!.Sampling.Parameters, _k))
            {
                _fullRowOf[row] = listed;
                _fullRows[listed++] = row;
            }
        }
        runner.DecodeCandidates(
            _tokens.AsSpan(0, batch),
            _pasts.AsSpan(0, batch),
            _fullRows.AsSpan(0, listed),
            _topValues.AsSpan(0, batch * _k),
            _topIds.AsSpan(0, batch * _k),
            _logSumExp.AsSpan(0, batch),
            _logits.AsSpan(0, listed * runner.VocabSize));
        return listed;
    }

    /// <summary>
    /// Fetches, in one call, the full rows of the sequences the sampler could not decide from their candidates, and samples
    /// them after the <paramref name="start"/> rows already in <see cref="_logits"/>. A failed fetch ends those sequences only.
    /// </summary>
    private void SampleFullRowsOfUndecided(int batch, int start)
    {
        var undecided = 0;
        for (var row = 0; row < batch; row++)
        {
            if (_outcomes[row] == CandidateOutcome.NeedsFullRow)
            {
                _fullRowOf[row] = start + undecided;
                _fullRows[start + undecided++] = row;
            }
        }
        if (undecided == 0)
        {
            return;
        }
        try
        {
            var t = Stopwatch.GetTimestamp();
            runner.ReadLogits(_fullRows.AsSpan(start, undecided), _logits.AsSpan(start * runner.VocabSize, undecided * runner.VocabSize));
            RunTime += Stopwatch.GetElapsedTime(t);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            for (var j = start; j < start + undecided; j++)
            {
                Release(_slots[_fullRows[j]]!, new InvalidOperationException($"reading full logits failed: {e.Message}", e));
            }
            return;
        }
        _samplers.ForEach(_fullRows, start, undecided, SampleRow);
    }

    /// <summary>
    /// Samples one decode row into <see cref="_outcomes"/> and <see cref="_sampled"/>: from its full logits when they are
    /// here, else from its candidates (which may answer <see cref="CandidateOutcome.NeedsFullRow"/>). Runs on a sampling
    /// worker: it touches only this row's sequence (its sampling state and constraint) and this row's slots of the arrays.
    /// </summary>
    private void SampleRow(Sampler sampler, int row)
    {
        var s = _slots[row]!;
        var noneAllowed = NoneAllowedId(s);
        if (_fullRowOf[row] >= 0)
        {
            var logits = _logits.AsSpan(_fullRowOf[row] * runner.VocabSize, runner.VocabSize);
            var allowed = sampler.TrySample(logits, s.Sampling, s.Request.Constraint, noneAllowed, out _sampled[row]);
            _outcomes[row] = allowed ? CandidateOutcome.Sampled : CandidateOutcome.NoneAllowed;
            return;
        }
        var candidates = new CandidateRow(_topValues.AsSpan(row * _k, _k), _topIds.AsSpan(row * _k, _k), _logSumExp[row]);
        _outcomes[row] = sampler.TrySampleCandidates(candidates, s.Sampling, s.Request.Constraint, noneAllowed, out _sampled[row]);
    }

    /// <summary>Samples the sequence's next token from its logits row and hands it to the caller; ends the sequence when it is done.</summary>
    private void Emit(Sequence s, Span<float> row)
        => Finish(s, _samplers.First.TrySample(row, s.Sampling, s.Request.Constraint, NoneAllowedId(s), out var sampled), sampled);

    /// <summary>The token reported when the constraint allows none: the first stop id (a constrained request has one).</summary>
    private static int NoneAllowedId(Sequence s) => s.Request.StopTokenIds.Count > 0 ? s.Request.StopTokenIds[0] : 0;

    /// <summary>Hands a sampled token to the caller and ends the sequence when it is done. Engine loop thread only.</summary>
    private void Finish(Sequence s, bool allowed, SampledToken sampled)
    {
        var stops = s.Request.StopTokenIds;
        FinishReason? finish = null;
        if (!allowed)
        {
            // The constraint allows no token (its grammar is complete or stuck): end as if the first stop id was sampled.
            finish = FinishReason.Stop;
        }
        else if (stops.Contains(sampled.TokenId))
        {
            finish = FinishReason.Stop;
        }
        s.Generated++;
        s.NextInput = sampled.TokenId;
        if (finish is null && (s.Generated >= s.Request.MaxTokens || s.Request.PromptTokens.Length + s.Generated >= runner.MaxModelLen))
        {
            // Prompt plus output fill the slot: feeding this token back would need a position the slot does not have.
            finish = FinishReason.Length;
        }
        if (!s.Output.Writer.TryWrite(new GeneratedToken(sampled.TokenId, sampled.Logprob, sampled.TopLogprobs, finish)))
        {
            // The reader is MaxClientLag tokens behind: end the sequence rather than wait for it or buffer without bound.
            Release(s, new ClientTooSlowException(options.MaxClientLag, s.Generated));
        }
        else if (finish is not null)
        {
            Release(s, null);
        }
    }

    private void Release(Sequence s, Exception? error)
    {
        if (s.Slot >= 0 && _slots[s.Slot] == s)
        {
            _slots[s.Slot] = null;
            _contents.Touch(s.Slot); // its contents stay for reuse: only successful Runs were mirrored, so they are exact
        }
        s.Slot = -1;
        Complete(s, error);
    }

    private void Complete(Sequence s, Exception? error)
    {
        if (s.Ended)
        {
            return;
        }
        // Told first, then the reader sees the end: the engine counts the sequence out of its in-flight bound when told, so a
        // client that sends its next request the moment this one ends finds the room it left (with no queue, it did not).
        s.Ended = true;
        ended?.Invoke(s);
        s.Output.Writer.TryComplete(error);
    }

    private void UpdateStats()
    {
        var used = 0;
        var running = 0;
        long tokens = 0;
        foreach (var s in _slots)
        {
            if (s is not null)
            {
                used++;
                running += s.IsPrefilling ? 0 : 1;
                tokens += s.CacheLength;
            }
        }
        SlotsUsed = used;
        Running = running;
        KvTokensUsed = tokens;
    }
}
