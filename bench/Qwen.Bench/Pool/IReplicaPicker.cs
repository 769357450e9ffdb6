namespace Qwen.Bench.Pool;

/// <summary>Chooses the replica a new request goes to (an index into the pool); called from any thread.</summary>
internal interface IReplicaPicker
{
    /// <summary>The picker's name in the table and the JSON.</summary>
    string Name { get; }

    /// <summary>The replica for the next request.</summary>
    int Pick();
}
