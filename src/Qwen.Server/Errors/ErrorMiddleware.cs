using Qwen.Server.Observability;

namespace Qwen.Server.Errors;

/// <summary>
/// Turns any failure before the response has started into the OpenAI error body (unknown routes included); a client that
/// went away gets nothing. Generation endpoints log their own per-request line (<see cref="RequestRecord"/>); for any other
/// request that ends in an error this middleware writes the line.
/// </summary>
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
                await RespondAsync(context, ApiException.UnknownRoute(context.Request.Method, context.Request.Path), null).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested)
        {
            log.LogDebug(e, "client disconnected");
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            await RespondAsync(context, ErrorMapper.Map(e, context), e).ConfigureAwait(false);
        }
    }

    private async Task RespondAsync(HttpContext context, ApiException api, Exception? e)
    {
        if (context.Features.Get<RequestRecord>() is null)
        {
            if (api.Status == 500)
            {
                log.LogError(e, "{Method} {Path} status={Status} failed", context.Request.Method, context.Request.Path.Value, api.Status);
            }
            else
            {
                log.LogInformation("{Method} {Path} status={Status} error={ErrorCode} param={Param}", context.Request.Method, context.Request.Path.Value, api.Status, api.Code ?? api.Type, api.Param);
            }
        }
        await ErrorMapper.WriteAsync(context, api).ConfigureAwait(false);
    }
}
