using System.Diagnostics;
using Qwen.Inference.Engine;
using Qwen.Inference.Model;
using Qwen.Inference.Sampling;

namespace Qwen.Inference.Scheduling;

/// <summary>
/// Iteration-level scheduling over the runner's KV slots. Every sequence gets an arrival number when it is enqueued.
/// The rule, applied once per engine step:
/// 1. Drop cancelled sequences (waiting or running) and free their slots.
/// 2. Admit waiting sequences into the lowest free slots, while slots are free, fair share first: each free slot goes to
///    the waiting sequence whose group (<see cref="GenerationRequest.Group"/>: the choices of one request) holds the
///    fewest slots, the oldest arrival among equals. So requests take slots in turn: a small request waits for the next
///    free slot, not for a big request's remaining choices. A sequence without a group counts as holding none.
/// 3. Run ONE of: a decode step (one token for every sequence whose prompt is in the cache, batched over slots
///    [0, highest busy slot]), or one prefill chunk (at most PrefillChunkSize prompt tokens of the sequence still
///    prefilling with the smallest arrival number, whatever its slot; batch 1). When both are possible they take turns,
///    so running streams stall for at most one chunk per token however long an arriving prompt is.
/// 4. Sequences that finish (stop token, max_tokens, context full: prompt plus output reached MaxModelLen, or a token
///    constraint that allows nothing) leave at once and free their slot; so does one whose reader is MaxClientLag tokens
///    behind (its output channel is full): the loop never waits for a reader.
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
    private readonly float[] _topValues = new float[runner.MaxNumSeqs * runner.CandidateCount]; // [B, K]
    private readonly int[] _topIds = new int[runner.MaxNumSeqs * runner.CandidateCount];        // [B, K]
    private readonly float[] _logSumExp = new float[runner.MaxNumSeqs];                         // [B]
    private readonly int[] _running = new int[runner.MaxNumSeqs];  // rows of the decode step that have a decoding sequence
    private readonly int[] _fullRows = new int[runner.MaxNumSeqs]; // rows whose full logits are in _logits, in that order
    private readonly int[] _fullRowOf = new int[runner.MaxNumSeqs]; // row -> its index in _logits, or -1
    private readonly CandidateOutcome[] _outcomes = new CandidateOutcome[runner.MaxNumSeqs];
    private readonly SampledToken[] _sampled = new SampledToken[runner.MaxNumSeqs];
    private readonly Dictionary<object, int> _held = new(ReferenceEqualityComparer.Instance); // group -> slots it holds, during Admit
    private long _arrivals;
    private bool _lastWasPrefill;

    /// <summary>Sequences whose prompt is in the cache: the rows of the next decode step.</summary>
    public int Running { get; private set; }

    /// <summary>Slots held, by decoding sequences and by prompts still being prefilled.</summary>
    public int SlotsUsed { get; private set; }

    public long KvTokensUsed { get; private set; }

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
        for (var slot = 0; slot < _slots.Length && _waiting.First is not null; slot++)
        {
            if (_slots[slot] is null)
            {
                var node = FairestWaiting();
                _waiting.Remove(node);
                var s = node.Value;
                s.Slot = slot;
                s.CacheLength = 0;
                _slots[slot] = s;
                if (s.Request.Group is { } group)
                {
                    _held[group] = _held.GetValueOrDefault(group) + 1;
                }
            }
        }
    }

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
        var n = Math.Min(options.PrefillChunkSize, prompt.Length - s.CacheLength);
        var row = _logits.AsSpan(0, runner.VocabSize);
        try
        {
            var t = Stopwatch.GetTimestamp();
            runner.Prefill(s.Slot, prompt.AsSpan(s.CacheLength, n), s.CacheLength, row);
            RunTime += Stopwatch.GetElapsedTime(t);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Release(s, new InvalidOperationException($"prefill failed: {e.Message}", e));
            return;
        }
        s.CacheLength += n;
        if (!s.IsPrefilling)
        {
            Emit(s, row);
        }
    }

    private void Decode()
    {
        var batch = 0;
        for (var i = 0; i < _slots.Length; i++)
        {
            var s = _slots[i];
            if (s is not null)
            {
                batch = i + 1;
            }
            // Idle rows (free slot, or a prompt mid-prefill) feed token 0 at the slot's own length: that write lands where the
            // next prefill chunk (or the next owner) writes first, so it is never read.
            _tokens[i] = s is { IsPrefilling: false } ? s.NextInput : 0;
            _pasts[i] = s?.CacheLength ?? 0;
        }
        var running = 0;
        for (var i = 0; i < batch; i++)
        {
            if (_slots[i] is { IsPrefilling: false })
            {
                _running[running++] = i;
            }
        }
        int listed;
        try
        {
            var t = Stopwatch.GetTimestamp();
            listed = RunDecode(batch, running);
            RunTime += Stopwatch.GetElapsedTime(t);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            for (var i = 0; i < batch; i++)
            {
                if (_slots[i] is { IsPrefilling: false } failed)
                {
                    Release(failed, new InvalidOperationException($"decode failed: {e.Message}", e));
                }
            }
            return;
        }
        for (var j = 0; j < running; j++)
        {
            _slots[_running[j]]!.CacheLength++;
        }
        _samplers.ForEach(_running, 0, running, SampleRow);
        SampleFullRowsOfUndecided(running, listed);
        for (var j = 0; j < running; j++)
        {
            if (_slots[_running[j]] is { } s)
            {
                Finish(s, _outcomes[_running[j]] == CandidateOutcome.Sampled, _sampled[_running[j]]);
            }
        }
    }

    /// <summary>
    /// The decode Run. Without candidates (or with fewer running rows than CandidatesMinRows): every row's full logits, row b
    /// at b. With them: each row's candidates, and up front the full rows of the sequences whose settings can never be
    /// sampled from candidates alone. Returns the rows of
    /// full logits written into <see cref="_logits"/>.
    /// </summary>
    private int RunDecode(int batch, int running)
    {
        if (_k == 0 || running < options.CandidatesMinRows)
        {
            runner.Decode(_tokens.AsSpan(0, batch), _pasts.AsSpan(0, batch), _logits.AsSpan(0, batch * runner.VocabSize));
            for (var i = 0; i < batch; i++)
            {
                _fullRowOf[i] = i;
            }
            return batch;
        }
        var listed = 0;
        for (var j = 0; j < running; j++)
        {
            var row = _running[j];
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
    private void SampleFullRowsOfUndecided(int running, int start)
    {
        var undecided = 0;
        for (var j = 0; j < running; j++)
        {
            var row = _running[j];
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
