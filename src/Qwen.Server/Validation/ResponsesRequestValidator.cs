using System.Text.Json;
using Qwen.Server.Hosting;
using Qwen.Tokenization.Chat;

namespace Qwen.Server.Validation;

/// <summary>
/// Validates a /v1/responses body (OpenAI's Responses API, stateless) in chat's order: body and model first (404 before
/// any work); every field (one 400 lists all problems); rendering with the chat template and tokenizing; whether it fits.
/// The conversation is instructions (a system message), then the input (<see cref="ResponsesInput"/>); an empty input
/// renders one empty user turn, so a probe (input "" or [], max_output_tokens 1) gets an answer. Tools and tool_choice
/// (<see cref="ResponsesTools"/>), the grammar (<see cref="OutputGrammar"/>) and the plan are chat's; n is 1.
/// Fields the server cannot honour are refused by name; fields about storage, billing and hosted features are ignored.
/// </summary>
internal static class ResponsesRequestValidator
{
    public static ResponsesRequest Validate(JsonElement root, ModelHost model, ServerOptions options, CancellationToken cancellationToken)
    {
        RequestValidator.CheckModel(root, model);
        var problems = new RequestProblems();
        var body = new FieldReader(root, null, problems);
        Refuse(body);
        var instructions = body.String("instructions");
        var input = ResponsesInput.Read(body);
        var echoTools = new List<JsonElement>();
        var tools = ResponsesTools.Read(body, echoTools);
        var plan = ResponsesTools.ToolChoice(body, [.. tools.Select(t => t.Name)], model.ToolCallTokenId, out var echoChoice);
        var (format, echoFormat) = TextFormat(body);
        var parallel = body.Bool("parallel_tool_calls") ?? true;
        var limit = options.MaxTokensLimit > 0 ? options.MaxTokensLimit : model.Engine.MaxModelLen;
        var maxOutput = body.Int("max_output_tokens", 1, limit); // OpenAI's minimum is 16; any positive count works here
        var stream = body.Bool("stream") ?? false;
        var sampling = RequestValidator.Sampling(body, model, null, plan.BannedTokenIds);
        var user = body.String("user");
        var metadata = body.Object("metadata") is { } m ? m.Element.Clone() : JsonSerializer.SerializeToElement(new { });
        if (body.String("truncation") is { } truncation && truncation is not ("disabled" or "auto"))
        {
            body.Problem("truncation", $"'truncation' must be 'disabled' or 'auto' (given '{FieldReader.Shorten(truncation)}')");
        }
        problems.ThrowIfAny();

        List<ChatMessage> conversation = [];
        if (instructions is not null)
        {
            conversation.Add(new ChatMessage(ChatRole.System, instructions));
        }
        conversation.AddRange(input.Count > 0 ? input : [new ChatMessage(ChatRole.User, "")]);
        var ids = new ChatPrompt(conversation, tools).Encode(model, options, addGenerationPrompt: true, plan.PromptPrefix, (maxOutput, "input"), cancellationToken);
        var fields = new SharedFields(sampling, maxOutput, [], 1, stream, IncludeUsage: false, IgnoreEos: false);
        var grammar = OutputGrammar.Select(model, plan, tools, parallel, format);
        var echo = new ResponseEcho(instructions, maxOutput, parallel, sampling.Temperature, sampling.TopP, echoFormat, echoChoice, echoTools, user, metadata);
        return new ResponsesRequest(RequestValidator.Plan(fields, ids, model, chat: true, grammar, plan, parallel, "input"), echo);
    }

    /// <summary>Fields that ask for what a stateless server without hosted tools cannot do.</summary>
    private static void Refuse(FieldReader body)
    {
        const string Stateless = "this server is stateless and stores no responses: send the whole conversation as input items (as with store: false)";
        if (body.TryGet("previous_response_id", out _))
        {
            body.Problem("previous_response_id", $"'previous_response_id' is not supported: {Stateless}");
        }
        if (body.TryGet("conversation", out _))
        {
            body.Problem("conversation", $"'conversation' is not supported: {Stateless}");
        }
        if (body.Bool("background") is true)
        {
            body.Problem("background", "'background' must be false: responses are generated while the request waits (stream them to see progress)");
        }
        if (body.TryGet("prompt", out _))
        {
            body.Problem("prompt", "'prompt' (a stored prompt template) is not supported: send instructions and input instead");
        }
        if (body.TryGet("max_tool_calls", out _))
        {
            body.Problem("max_tool_calls", "'max_tool_calls' is not supported: use parallel_tool_calls false for at most one call");
        }
        if (body.Int("top_logprobs", 0, 20) is > 0)
        {
            body.Problem("top_logprobs", "'top_logprobs' is not supported on /v1/responses (use /v1/chat/completions for logprobs)");
        }
    }

    /// <summary>text.format: text (default), json_object or json_schema (flat: name, schema, strict), read as chat reads response_format.</summary>
    private static (OutputFormat Format, JsonElement Echo) TextFormat(FieldReader body)
    {
        if (body.Object("text") is not { } t || t.Object("format") is not { } f)
        {
            return (OutputFormat.Text, JsonSerializer.SerializeToElement(new { type = "text" }));
        }
        return (OutputFormat.ReadFlat(f), f.Element.Clone());
    }
}
