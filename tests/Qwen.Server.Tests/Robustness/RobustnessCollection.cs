namespace Qwen.Server.Tests.Robustness;

/// <summary>
/// The fault tests run alone (not in parallel with other test classes): they count threads, file handles and managed
/// memory of the whole test process, which other servers starting and stopping next to them would blur.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RobustnessCollection
{
    public const string Name = "Robustness";
}
