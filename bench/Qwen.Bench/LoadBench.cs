namespace Qwen.Bench;

/// <summary>Pending: the load benchmark.</summary>
internal static class LoadBench
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.WriteLine("load bench: pending (" + args.Length + " args)");
        return Task.FromResult(0);
    }
}
