namespace Qwen.Server.Errors;

/// <summary>Turns any failure before the response has started into the OpenAI error body; a client that went away gets nothing.</summary>
public sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> log)
{
    /// <summary>Runs the rest of the pipeline.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await next(context).ConfigureAwait(false);
            if (context.Response.StatusCode == 404 && !context.Response.HasStarted && context.GetEndpoint() is null)
            {
                await ErrorMapper.WriteAsync(context, new ApiException(404, $"Unknown route: {context.Request.Method} {context.Request.Path}", "invalid_request_error", null, "not_found")).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested)
        {
            log.LogDebug(e, "client disconnected");
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var api = ErrorMapper.Map(e);
            if (api.Status >= 500 && e is not ObjectDisposedException)
            {
                log.LogError(e, "request failed");
            }
            await ErrorMapper.WriteAsync(context, e).ConfigureAwait(false);
        }
    }
}
