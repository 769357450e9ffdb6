namespace Qwen.Bench;

/// <summary>Pending: the tokenizer benchmark.</summary>
internal static class TokenizerBench
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.WriteLine("tokenizer bench: pending (" + args.Length + " args)");
        return Task.FromResult(0);
    }
}
