using Qwen.Inference.Engine;
using Qwen.Server.Errors;

namespace Qwen.Server.Tests.Errors;

/// <summary>The failure table for engine outcomes that are no server error.</summary>
public sealed class ErrorMapperTests
{
    [Fact]
    public void Map_ClientTooSlow_Is408ClientTooSlowWithTheEnginesReason()
    {
        var api = ErrorMapper.Map(new ClientTooSlowException(512, 700), shuttingDown: false);
        Assert.Equal((408, "client_too_slow"), (api.Status, api.Code));
        Assert.Contains("more than 512 tokens behind", api.Message, StringComparison.Ordinal);
    }
}
