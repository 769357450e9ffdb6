using System.Globalization;

namespace Qwen.Bench;

/// <summary>Tiny --name value parser for the benchmark programs.</summary>
internal sealed class BenchArgs(string[] args)
{
    public string Get(string name, string fallback)
    {
        var i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    /// <summary>Whether --name is given (a switch without a value).</summary>
    public bool Flag(string name) => args.Contains("--" + name);

    public int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    /// <summary>--name as a number, or null when it is not given.</summary>
    public double? Double(string name) => Get(name, "") is { Length: > 0 } text ? double.Parse(text, CultureInfo.InvariantCulture) : null;

    /// <summary>--name as a comma-separated list of numbers ("1,2,4,8"), or <paramref name="fallback"/>.</summary>
    public IReadOnlyList<double> Doubles(string name, string fallback)
        => Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToList();

    /// <summary>
    /// How to start this bench program again with <paramref name="args"/> (a child that serves or measures on its own, so
    /// its CPU time and peak RSS are not mixed with the parent's): the apphost, or <c>dotnet Qwen.Bench.dll</c>.
    /// </summary>
    public static System.Diagnostics.ProcessStartInfo Self(params string[] args)
    {
        var self = Environment.ProcessPath!;
        var start = new System.Diagnostics.ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BenchArgs).Assembly.Location);
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return start;
    }

    public static long PeakRssBytes()
    {
        // VmHWM: the resident set's high-water mark of this process.
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? Environment.WorkingSet : long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
