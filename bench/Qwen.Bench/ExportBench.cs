namespace Qwen.Bench;

/// <summary>Pending: the export benchmark.</summary>
internal static class ExportBench
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.WriteLine("export bench: pending (" + args.Length + " args)");
        return Task.FromResult(0);
    }
}
