using Qwen.Inference.Model;

namespace Qwen.Server.Tests;

/// <summary>
/// The second implementation of the model seam: replays chosen token sequences. A script is picked by a key token
/// sequence found in the prompt; each step's logits put the next scripted token far above the rest, so the real
/// engine, sampler, tokenizer, parser and SSE path produce exactly the script. After the script: &lt;|im_end|&gt;.
/// A script may instead give the first step's whole logits row (to test sampling), may pause the engine loop before a
/// chosen token (a <see cref="RunnerGate"/> the test opens), and the prompt each script received is recorded.
/// </summary>
public sealed class ScriptedRunner(int vocabSize, int maxNumSeqs, int maxModelLen) : IModelRunner
{
    public const int ImEnd = 151645;

    /// <summary>The logit of every token a logits-row script does not name: far below, so its probability is 0 in float.</summary>
    public const float Floor = -1e4f;

    private readonly List<Script> _scripts = [];
    private readonly Dictionary<int, (List<int> Prompt, int PromptEnd, Script? Script)> _slots = [];
    private readonly Dictionary<Script, int[]> _prompts = [];

    public int VocabSize { get; } = vocabSize;

    public int MaxNumSeqs { get; } = maxNumSeqs;

    public int MaxModelLen { get; } = maxModelLen;

    /// <summary>Delay per engine step, to hold requests in flight (disconnect and overload tests).</summary>
    public TimeSpan StepDelay { get; set; }

    public void AddScript(int[] key, int[] script) => Add(new Script(key, script, null, null, -1));

    /// <summary>A script that blocks the engine loop before producing token <paramref name="pauseBefore"/> until the gate opens.</summary>
    public RunnerGate AddPausedScript(int[] key, int[] script, int pauseBefore)
    {
        var gate = new RunnerGate();
        Add(new Script(key, script, null, gate, pauseBefore));
        return gate;
    }

    /// <summary>A script whose first token is sampled from <paramref name="row"/> (token id to logit, all others <see cref="Floor"/>); then &lt;|im_end|&gt;.</summary>
    public void AddLogitsScript(int[] key, IReadOnlyDictionary<int, float> row) => Add(new Script(key, [], row, null, -1));

    /// <summary>The whole prompt the latest request matching <paramref name="key"/> sent to the model.</summary>
    public int[]? PromptOf(int[] key)
    {
        lock (_scripts)
        {
            return _prompts.Where(p => p.Key.Key.SequenceEqual(key)).Select(p => p.Value).LastOrDefault();
        }
    }

    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits)
    {
        Thread.Sleep(StepDelay);
        // The slot's cache: what it held before pastLength (a prefix reused by the engine, or an earlier chunk), then these.
        var prompt = Cached(slot, pastLength);
        prompt.AddRange(tokens.ToArray());
        Script? script;
        lock (_scripts)
        {
            script = _scripts.LastOrDefault(s => Contains(prompt, s.Key));
            if (script is not null)
            {
                _prompts.Remove(script);
                _prompts[script] = [.. prompt];
            }
        }
        _slots[slot] = (prompt, pastLength + tokens.Length, script);
        Write(logits, script, 0);
    }

    public void Decode(ReadOnlySpan<int> tokens, ReadOnlySpan<int> pastLengths, Span<float> logits)
    {
        Thread.Sleep(StepDelay);
        for (var b = 0; b < tokens.Length; b++)
        {
            var row = logits.Slice(b * VocabSize, VocabSize);
            if (_slots.TryGetValue(b, out var s))
            {
                Cached(b, pastLengths[b]).Add(tokens[b]);
                Write(row, s.Script, pastLengths[b] + 1 - s.PromptEnd);
            }
            else
            {
                Write(row, null, 0);
            }
        }
    }

    public void CopyKv(int from, int to, int length)
    {
        var source = _slots[from];
        _slots[to] = (source.Prompt.GetRange(0, length), Math.Min(source.PromptEnd, length), source.Script);
    }

    public void SwapKv(int a, int b, int length)
    {
        var (sa, sb) = (_slots.GetValueOrDefault(a, ([], 0, null)), _slots.GetValueOrDefault(b, ([], 0, null)));
        (_slots[a], _slots[b]) = (sb, sa);
    }

    /// <summary>The tokens in the slot's cache, cut to its first <paramref name="length"/> (which it must hold).</summary>
    private List<int> Cached(int slot, int length)
    {
        if (!_slots.TryGetValue(slot, out var s))
        {
            _slots[slot] = s = ([], 0, null);
        }
        s.Prompt.RemoveRange(length, s.Prompt.Count - length);
        return s.Prompt;
    }

    public void Dispose()
    {
    }

    private void Add(Script script)
    {
        lock (_scripts)
        {
            _scripts.Add(script);
        }
    }

    private static void Write(Span<float> row, Script? script, int index)
    {
        if (script?.Gate is { } gate && index == script.PauseBefore)
        {
            gate.Block();
        }
        if (script?.Row is { } first && index == 0)
        {
            row.Fill(Floor);
            foreach (var (id, logit) in first)
            {
                row[id] = logit;
            }
            return;
        }
        row.Clear();
        var tokens = script?.Tokens ?? [];
        row[index >= 0 && index < tokens.Length ? tokens[index] : ImEnd] = 100f;
    }

    private static bool Contains(List<int> haystack, int[] needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }
            if (match)
            {
                return true;
            }
        }
        return false;
    }

    private sealed record Script(int[] Key, int[] Tokens, IReadOnlyDictionary<int, float>? Row, RunnerGate? Gate, int PauseBefore);
}
