using Apache.Arrow;

namespace Sluice.Inference.Generation;

/// <summary>
/// A batch's rows' own limits (<see cref="GenerateOptions.MaxTokensColumn"/>, <see cref="GenerateOptions.StopColumn"/>),
/// as an OpenAI batch file's requests carry them: a row's max tokens is capped at the stage's max_new_tokens; a row's
/// stop strings replace the stage's. Rows that give neither share the stage's settings.
/// </summary>
internal sealed class RowLimits
{
    private readonly string _maxTokensName;
    private readonly IArrowArray? _maxTokens;
    private readonly string _stopName;
    private readonly IArrowArray? _stop;

    private RowLimits(string maxTokensName, IArrowArray? maxTokens, string stopName, IArrowArray? stop)
    {
        (_maxTokensName, _maxTokens, _stopName, _stop) = (maxTokensName, maxTokens, stopName, stop);
    }

    /// <summary>The columns in <paramref name="batch"/>; a default column that is absent is no limit, a named one is an error.</summary>
    public static RowLimits Of(RecordBatch batch, GenerateOptions options)
    {
        var maxTokensName = options.MaxTokensColumn ?? GenerateOptions.DefaultMaxTokensColumn;
        var maxTokens = Column(batch, maxTokensName, options.MaxTokensColumn is not null, nameof(GenerateOptions.MaxTokensColumn));
        if (maxTokens is not null and not (Int32Array or Int64Array))
            throw new BadInputException($"max tokens column '{maxTokensName}' is {maxTokens.Data.DataType.Name}; give a column of whole numbers (int32 or int64) (GenerateOptions.MaxTokensColumn{Default(options.MaxTokensColumn, GenerateOptions.DefaultMaxTokensColumn)})");
        var stopName = options.StopColumn ?? GenerateOptions.DefaultStopColumn;
        var stop = Column(batch, stopName, options.StopColumn is not null, nameof(GenerateOptions.StopColumn));
        if (stop is not null and not (StringArray or ListArray { Values: StringArray }))
            throw new BadInputException($"stop column '{stopName}' is {stop.Data.DataType.Name}; give a column of lists of strings, or of strings (GenerateOptions.StopColumn{Default(options.StopColumn, GenerateOptions.DefaultStopColumn)})");
        return new RowLimits(maxTokensName, maxTokens, stopName, stop);
    }

    /// <summary>Row <paramref name="row"/>'s settings: <paramref name="stage"/>'s, with the row's own max tokens and stop strings where it gives them.</summary>
    public GenerationSettings For(GenerationSettings stage, int row)
    {
        var max = MaxTokens(row);
        var stop = Stop(row);
        if (max is null && stop is null) return stage;
        if (max < 1)
            throw new BadInputException($"row {row}: column '{_maxTokensName}' is {max}; give a whole number of 1 or more, or null (the row then stops at max_new_tokens {stage.MaxNewTokens})");
        if (stop?.Any(s => s.Length == 0) == true)
            throw new BadInputException($"row {row}: column '{_stopName}' holds an empty string; give non-empty stop strings, or null (the stage's stop then applies)");
        return stage with
        {
            MaxNewTokens = max is { } m ? (int)Math.Min(m, stage.MaxNewTokens) : stage.MaxNewTokens,
            StopStrings = stop ?? stage.StopStrings,
        };
    }

    private long? MaxTokens(int row) => _maxTokens switch
    {
        Int32Array a => a.GetValue(row),
        Int64Array a => a.GetValue(row),
        _ => null,
    };

    private List<string>? Stop(int row) => _stop switch
    {
        StringArray s when !s.IsNull(row) => [s.GetString(row)],
        ListArray l when !l.IsNull(row) => [.. Strings((StringArray)l.GetSlicedValues(row))],
        _ => null,
    };

    private static IEnumerable<string> Strings(StringArray values) => Enumerable.Range(0, values.Length).Select(i => values.GetString(i) ?? "");

    private static string Default(string? named, string name) =>
        named is null ? $"; read because the rows have a column '{name}': rename it, or name another column with this option" : "";

    private static IArrowArray? Column(RecordBatch batch, string name, bool named, string option)
    {
        var index = Columns.IndexOf(batch, name);
        if (index >= 0) return batch.Column(index);
        if (named) throw new BadInputException($"column '{name}' is missing (GenerateOptions.{option}); the batch has: {Columns.Describe(batch)}");
        return null;
    }
}
