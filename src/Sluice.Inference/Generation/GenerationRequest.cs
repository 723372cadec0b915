namespace Sluice.Inference.Generation;

/// <summary>Why a row stopped generating.</summary>
public static class FinishReason
{
    /// <summary>A stop string, a stop token or the model's eos token.</summary>
    public const string Stop = "stop";

    /// <summary>max_new_tokens, or the model's context length.</summary>
    public const string Length = "length";
}

/// <summary>One prompt to generate from.</summary>
/// <param name="Prompt">The prompt's token ids (bos included when the model wants one).</param>
/// <param name="RowKey">What sets the row apart for sampling besides its prompt (its seed column's value), or null.</param>
internal sealed record GenerationRequest(IReadOnlyList<int> Prompt, GenerationSettings Settings, string? RowKey = null);

/// <summary>What every row of a stage shares: limits, stop conditions and the sampler.</summary>
internal sealed record GenerationSettings(int MaxNewTokens, IReadOnlySet<int> StopTokenIds, IReadOnlyList<string> StopStrings, TokenSampler Sampler, long Seed)
{
    public static GenerationSettings From(GenerateOptions options, int? eosTokenId)
    {
        var stopIds = new HashSet<int>(options.StopIds);
        if (eosTokenId is { } eos) stopIds.Add(eos);
        return new(options.MaxNewTokens, stopIds, options.StopStrings, new TokenSampler(options.Temperature, options.TopK, options.TopP), options.Seed);
    }
}

/// <summary>A finished row.</summary>
/// <param name="Tokens">The generated ids, a final stop token included.</param>
/// <param name="Text">The generated text, cut before a stop string; a stop token's text is left out.</param>
internal sealed record GenerationResult(IReadOnlyList<int> Tokens, string Text, string FinishReason);
