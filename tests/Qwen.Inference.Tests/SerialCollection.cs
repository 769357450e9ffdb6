namespace Qwen.Inference.Tests;

/// <summary>Tests that measure process-wide quantities (managed memory) run alone, not beside other test classes.</summary>
[CollectionDefinition(nameof(SerialCollection), DisableParallelization = true)]
public sealed class SerialCollection;
