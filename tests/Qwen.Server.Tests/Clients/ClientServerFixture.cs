namespace Qwen.Server.Tests.Clients;

/// <summary>
/// The real server for the agent-framework clients, with a 2048-token context: a function-invocation loop sends the tool
/// preamble, each call and its result again on every turn, which with room for a bounded answer outgrows the default 512.
/// </summary>
public sealed class ClientServerFixture : ServerFixture
{
    public ClientServerFixture()
        : base(["--max-model-len", "2048"])
    {
    }
}
