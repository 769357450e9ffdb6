using System.Diagnostics;
using System.Text;
using Qwen.OnnxExport.Checkpoint;
using Qwen.Tokenization.Tokenizer;

namespace Qwen.Bench;

/// <summary>Tokenizer throughput on a deterministic ~1 MB mixed corpus (English, Chinese, code) and on 1 MB single pre-tokens: `tokenizer [--model-dir DIR]`.</summary>
internal static class TokenizerBench
{
    private static readonly string[] Snippets =
    [
        "The quick brown fox jumps over the lazy dog. Continuous batching lets requests join and leave the running batch at every step, ",
        "so nobody waits for a whole batch to finish. It's what we'd expect from a serious server; they've measured it twice.\n",
        "大型语言模型的推理服务需要高效地管理键值缓存。连续批处理让请求在每个解码步骤中加入和离开正在运行的批次。",
        "早上好，世界！今天的天气很好，我们去公园散步吧。\n",
        "public static int Add(int a, int b)\n{\n    return a + b; // sum\n}\n",
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n",
        "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\", \"days\": 3}} 🌅🚀 naïve café — “quotes”\n",
    ];

    public static Task<int> RunAsync(string[] args)
    {
        var dir = new BenchArgs(args).Get("model-dir", RandomCheckpoint.AssetsDirectory);
        var sw = Stopwatch.StartNew();
        var tokenizer = QwenTokenizer.FromDirectory(dir);
        Console.WriteLine($"tokenizer load: {sw.Elapsed.TotalMilliseconds:F0} ms");

        var random = new Random(42);
        var sb = new StringBuilder();
        while (Encoding.UTF8.GetByteCount(sb.ToString()) < 1_000_000)
        {
            for (var i = 0; i < 200; i++)
            {
                sb.Append(Snippets[random.Next(Snippets.Length)]);
            }
        }
        var corpus = sb.ToString();
        var megabytes = Encoding.UTF8.GetByteCount(corpus) / 1e6;
        var lines = corpus.Split('\n');

        tokenizer.Encode(corpus); // warm-up
        sw.Restart();
        const int reps = 5;
        var ids = Array.Empty<int>();
        for (var i = 0; i < reps; i++)
        {
            ids = tokenizer.Encode(corpus);
        }
        var seconds = sw.Elapsed.TotalSeconds / reps;
        Console.WriteLine($"encode {megabytes:F2} MB as one text: {megabytes / seconds:F1} MB/s, {ids.Length / seconds / 1e6:F2} M tokens/s ({ids.Length} tokens)");

        // One pre-token of 1 MB: a word (letters) and a punctuation run; the library's BPE alone is quadratic here.
        var pieceRandom = new Random(7);
        const string punctuation = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~";
        foreach (var (name, text) in new[]
        {
            ("1 MB single word (random a-z)", new string([.. Enumerable.Range(0, 1_000_000).Select(_ => (char)('a' + pieceRandom.Next(26)))])),
            ("1 MB punctuation run", new string([.. Enumerable.Range(0, 1_000_000).Select(_ => punctuation[pieceRandom.Next(punctuation.Length)])])),
        })
        {
            sw.Restart();
            var tokens = tokenizer.Encode(text).Length;
            Console.WriteLine($"encode {name}: {sw.Elapsed.TotalSeconds:F2} s, {1 / sw.Elapsed.TotalSeconds:F1} MB/s ({tokens} tokens)");
        }

        sw.Restart();
        var count = lines.Sum(l => tokenizer.Encode(l).Length);
        Console.WriteLine($"encode per line ({lines.Length} calls): {megabytes / sw.Elapsed.TotalSeconds:F1} MB/s, {count / sw.Elapsed.TotalSeconds / 1e6:F2} M tokens/s");

        sw.Restart();
        for (var i = 0; i < reps; i++)
        {
            tokenizer.Decode(ids);
        }
        Console.WriteLine($"decode (whole): {megabytes / (sw.Elapsed.TotalSeconds / reps):F1} MB/s, {ids.Length / (sw.Elapsed.TotalSeconds / reps) / 1e6:F2} M tokens/s");

        sw.Restart();
        var detokenizer = tokenizer.CreateDetokenizer();
        var chars = 0;
        foreach (var id in ids)
        {
            chars += detokenizer.Push(id).Length;
        }
        Console.WriteLine($"decode (incremental, one token at a time): {ids.Length / sw.Elapsed.TotalSeconds / 1e6:F2} M tokens/s ({chars} chars)");
        return Task.FromResult(0);
    }
}
