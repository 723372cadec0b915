using System.Text.Json;

namespace Sluice.IO.OpenAiBatch;

/// <summary>
/// What a (chat) completion request's body asks of its own generation: <c>max_tokens</c> (or <c>max_completion_tokens</c>),
/// <c>stop</c> (a string or a list), <c>temperature</c> and <c>seed</c>; each null where the body leaves it out (or gives
/// null). A value the Batch API would refuse is refused with the file, line and field, and what is accepted.
/// </summary>
internal sealed record OpenAiRequestLimits(int? MaxTokens, IReadOnlyList<string>? Stop, double? Temperature, long? Seed)
{
    /// <summary>The most stop sequences a request may give, as the API allows.</summary>
    public const int MaxStops = 4;

    /// <summary>The API's temperature range.</summary>
    public const double MaxTemperature = 2;

    public static OpenAiRequestLimits None { get; } = new(null, null, null, null);

    public static OpenAiRequestLimits Parse(JsonElement body, string at)
    {
        var maxTokens = MaxTokensOf(body, "max_tokens", at);
        var maxCompletion = MaxTokensOf(body, "max_completion_tokens", at);
        if (maxTokens is not null && maxCompletion is not null && maxTokens != maxCompletion)
            throw new BadInputException($"{at}: body.max_tokens is {maxTokens} and body.max_completion_tokens is {maxCompletion}; give one of them (or the same value)");
        if (Present(body, "n", out var n) && !(n.ValueKind == JsonValueKind.Number && n.TryGetInt64(out var count) && count == 1))
            throw new BadInputException($"{at}: field 'body.n' is {Raw(n)}; Sluice answers one choice per request: give 1 or leave it out");
        return new(maxTokens ?? maxCompletion, StopOf(body, at), TemperatureOf(body, at), SeedOf(body, at));
    }

    private static int? MaxTokensOf(JsonElement body, string name, string at)
    {
        if (!Present(body, name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n is >= 1 and <= int.MaxValue) return (int)n;
        throw new BadInputException($"{at}: field 'body.{name}' is {Raw(v)}; give a whole number from 1 to {int.MaxValue} (the generate stage's max_new_tokens caps it), or leave it out");
    }

    private static List<string>? StopOf(JsonElement body, string at)
    {
        if (!Present(body, "stop", out var v)) return null;
        const string accepted = "give a non-empty string or a list of up to 4 non-empty strings, or leave it out";
        List<string> stops = [];
        if (v.ValueKind == JsonValueKind.String) stops.Add(v.GetString()!);
        else if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() <= MaxStops && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            stops.AddRange(v.EnumerateArray().Select(e => e.GetString()!));
        else throw new BadInputException($"{at}: field 'body.stop' is {Raw(v)}; {accepted}");
        if (stops.Any(s => s.Length == 0)) throw new BadInputException($"{at}: field 'body.stop' holds an empty string; {accepted}");
        return stops;
    }

    private static double? TemperatureOf(JsonElement body, string at)
    {
        if (!Present(body, "temperature", out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.GetDouble() is var t and >= 0 and <= MaxTemperature) return t;
        throw new BadInputException($"{at}: field 'body.temperature' is {Raw(v)}; give a number from 0 to 2, or leave it out");
    }

    private static long? SeedOf(JsonElement body, string at)
    {
        if (!Present(body, "seed", out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var seed)) return seed;
        throw new BadInputException($"{at}: field 'body.seed' is {Raw(v)}; give a whole number (64-bit), or leave it out");
    }

    /// <summary>Whether the body gives <paramref name="name"/> a value: absent and null are both "not given", as in the API.</summary>
    private static bool Present(JsonElement body, string name, out JsonElement value) =>
        body.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

    private static string Raw(JsonElement v)
    {
        var raw = v.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
