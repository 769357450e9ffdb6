namespace Qwen.Bench;

/// <summary>Pending: the engine benchmark.</summary>
internal static class EngineBench
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.WriteLine("engine bench: pending (" + args.Length + " args)");
        return Task.FromResult(0);
    }
}
