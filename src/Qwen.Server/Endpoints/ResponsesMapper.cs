using System.Text;
using Qwen.Server.Generation;
using Qwen.Server.Protocol;
using Qwen.Server.Validation;

namespace Qwen.Server.Endpoints;

/// <summary>
/// The Responses API on the wire. A stream is response.created and response.in_progress, then per output item
/// response.output_item.added; for a message response.content_part.added, response.output_text.delta…,
/// response.output_text.done, response.content_part.done; for a function call response.function_call_arguments.delta…,
/// response.function_call_arguments.done; then response.output_item.done; last response.completed (response.incomplete
/// when max_output_tokens cut it) with the whole response and usage, or response.failed after an error. Text opens a
/// message item, each call's first piece a function_call item; either closes the item open before it. Sequence numbers
/// are stamped by <see cref="SseWriter"/> as events reach the wire, so an event a failure kept from being written leaves
/// no gap before response.failed. One per request; n is always 1.
/// </summary>
internal sealed class ResponsesMapper(ResponseHeader header, ResponseEcho echo) : IGenerationMapper
{
    private readonly List<ResponseOutputItem> _output = [];
    private readonly StringBuilder _text = new();
    private ResponseOutputItem? _open;
    private string? _finish;

    public bool SendsDone => false; // the Responses API ends with response.completed; clients stop there

    public IEnumerable<object> Opening()
    {
        var response = Snapshot("in_progress", [], null);
        return [Status("response.created", response), Status("response.in_progress", response)];
    }

    public IEnumerable<object> Chunk(ChoiceEvent e)
    {
        var events = new List<object>();
        if (e.Content is { Length: > 0 } text)
        {
            if (_open is not ResponseOutputMessage)
            {
                Close(events, "completed");
                var message = new ResponseOutputMessage { Id = GenerationEndpoint.NewId("msg_"), Status = "in_progress", Content = [] };
                Open(events, message);
                events.Add(new ResponseContentPartEvent { Type = "response.content_part.added", ItemId = message.Id, OutputIndex = _output.Count, ContentIndex = 0, Part = new ResponseOutputText("") });
            }
            _text.Append(text);
            events.Add(new ResponseTextDeltaEvent { Type = "response.output_text.delta", ItemId = _open!.Id, OutputIndex = _output.Count, ContentIndex = 0, Delta = text });
        }
        if (e.ToolCall is { } piece)
        {
            if (piece.Id is not null)
            {
                Close(events, "completed");
                Open(events, new ResponseFunctionToolCall { Id = GenerationEndpoint.NewId("fc_"), Status = "in_progress", CallId = piece.Id, Name = piece.Name ?? "", Arguments = "" });
            }
            if (piece.Arguments is { Length: > 0 } arguments && _open is ResponseFunctionToolCall call)
            {
                _text.Append(arguments);
                events.Add(new ResponseFunctionCallArgumentsDeltaEvent { Type = "response.function_call_arguments.delta", ItemId = call.Id, OutputIndex = _output.Count, Delta = arguments });
            }
        }
        _finish = e.Finish ?? _finish;
        return events;
    }

    public IEnumerable<object> Closing(Usage usage)
    {
        var events = new List<object>();
        var status = _finish == "length" ? "incomplete" : "completed";
        Close(events, status);
        events.Add(Status("response." + status, Snapshot(status, _output, usage)));
        return events;
    }

    public object Failure(ErrorResponse error)
        => Status("response.failed", Snapshot("failed", _output, null) with { Error = new ResponseError(error.Error.Code ?? error.Error.Type, error.Error.Message) });

    public object Whole(IReadOnlyList<ChoiceResult> choices, Usage usage)
    {
        var choice = choices[0];
        var status = choice.Finish == "length" ? "incomplete" : "completed";
        var items = new List<ResponseOutputItem>();
        if (choice.Message.Content is { Length: > 0 } text)
        {
            items.Add(new ResponseOutputMessage { Id = GenerationEndpoint.NewId("msg_"), Status = "completed", Content = [new ResponseOutputText(text)] });
        }
        foreach (var call in choice.Message.ToolCalls)
        {
            items.Add(new ResponseFunctionToolCall { Id = GenerationEndpoint.NewId("fc_"), Status = "completed", CallId = call.Id, Name = call.Name, Arguments = call.Arguments });
        }
        if (items.Count > 0)
        {
            items[^1] = items[^1] with { Status = status }; // the limit cut the last item
        }
        return Snapshot(status, items, usage);
    }

    private void Open(List<object> events, ResponseOutputItem item)
    {
        _open = item;
        _text.Clear();
        events.Add(new ResponseOutputItemEvent { Type = "response.output_item.added", OutputIndex = _output.Count, Item = item });
    }

    /// <summary>Ends the open item, if any, with its done events, and adds it to the output.</summary>
    private void Close(List<object> events, string status)
    {
        var index = _output.Count;
        ResponseOutputItem done;
        switch (_open)
        {
            case ResponseOutputMessage message:
                var part = new ResponseOutputText(_text.ToString());
                events.Add(new ResponseTextDoneEvent { Type = "response.output_text.done", ItemId = message.Id, OutputIndex = index, ContentIndex = 0, Text = part.Text });
                events.Add(new ResponseContentPartEvent { Type = "response.content_part.done", ItemId = message.Id, OutputIndex = index, ContentIndex = 0, Part = part });
                done = message with { Status = status, Content = [part] };
                break;
            case ResponseFunctionToolCall call:
                events.Add(new ResponseFunctionCallArgumentsDoneEvent { Type = "response.function_call_arguments.done", ItemId = call.Id, OutputIndex = index, Name = call.Name, Arguments = _text.ToString() });
                done = call with { Status = status, Arguments = _text.ToString() };
                break;
            default:
                return;
        }
        events.Add(new ResponseOutputItemEvent { Type = "response.output_item.done", OutputIndex = index, Item = done });
        _output.Add(done);
        _open = null;
    }

    private ResponseStatusEvent Status(string type, Response response) => new() { Type = type, Response = response };

    private Response Snapshot(string status, IReadOnlyList<ResponseOutputItem> output, Usage? usage) => new()
    {
        Id = header.Id,
        CreatedAt = header.Created,
        Status = status,
        IncompleteDetails = status == "incomplete" ? new ResponseIncompleteDetails("max_output_tokens") : null,
        Instructions = echo.Instructions,
        MaxOutputTokens = echo.MaxOutputTokens,
        Model = header.Model,
        Output = [.. output],
        ParallelToolCalls = echo.ParallelToolCalls,
        Temperature = echo.Temperature,
        Text = new ResponseTextConfig(echo.Format),
        ToolChoice = echo.ToolChoice,
        Tools = echo.Tools,
        TopP = echo.TopP,
        Usage = usage is null ? null : new ResponseUsage(usage.PromptTokens, new ResponseInputTokensDetails(usage.PromptTokensDetails.CachedTokens), usage.CompletionTokens, new ResponseOutputTokensDetails(0), usage.TotalTokens),
        User = echo.User,
        Metadata = echo.Metadata,
    };
}
