using Qwen.Inference.Model;

namespace Qwen.Server.Tests;

/// <summary>
/// The second implementation of the model seam: replays chosen token sequences. A script is picked by a key token
/// sequence found in the prompt; each step's logits put the next scripted token far above the rest, so the real
/// engine, sampler, tokenizer, parser and SSE path produce exactly the script. After the script: &lt;|im_end|&gt;.
/// </summary>
public sealed class ScriptedRunner(int vocabSize, int maxNumSeqs, int maxModelLen) : IModelRunner
{
    public const int ImEnd = 151645;

    private readonly List<(int[] Key, int[] Script)> _scripts = [];
    private readonly Dictionary<int, (List<int> Prompt, int PromptEnd, int[] Script)> _slots = [];

    public int VocabSize { get; } = vocabSize;

    public int MaxNumSeqs { get; } = maxNumSeqs;

    public int MaxModelLen { get; } = maxModelLen;

    /// <summary>Delay per engine step, to hold requests in flight (disconnect and overload tests).</summary>
    public TimeSpan StepDelay { get; set; }

    public void AddScript(int[] key, int[] script)
    {
        lock (_scripts)
        {
            _scripts.Add((key, script));
        }
    }

    public void Prefill(int slot, ReadOnlySpan<int> tokens, int pastLength, Span<float> logits)
    {
        Thread.Sleep(StepDelay);
        if (pastLength == 0 || !_slots.ContainsKey(slot))
        {
            _slots[slot] = ([], 0, []);
        }
        var prompt = _slots[slot].Prompt;
        prompt.AddRange(tokens.ToArray());
        int[] script;
        lock (_scripts)
        {
            script = _scripts.LastOrDefault(s => Contains(prompt, s.Key)).Script ?? [];
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
                Write(row, s.Script, pastLengths[b] + 1 - s.PromptEnd);
            }
            else
            {
                Write(row, [], 0);
            }
        }
    }

    public void Dispose()
    {
    }

    private void Write(Span<float> row, int[] script, int index)
    {
        row.Clear();
        row[index >= 0 && index < script.Length ? script[index] : ImEnd] = 100f;
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
}
