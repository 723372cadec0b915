using System.Text;

namespace Sluice.Inference.Generation;

/// <summary>
/// A prompt template over columns: <c>{name}</c> is replaced by the row's value of column <c>name</c>; <c>{{</c> and
/// <c>}}</c> stand for literal braces. E.g. <c>"Q: {question}\nA:"</c>.
/// </summary>
internal sealed class PromptTemplate
{
    private readonly List<(string Text, string? Column)> _parts;

    private PromptTemplate(List<(string, string?)> parts)
    {
        _parts = parts;
        Columns = [.. parts.Where(p => p.Item2 is not null).Select(p => p.Item2!).Distinct(StringComparer.Ordinal)];
    }

    public IReadOnlyList<string> Columns { get; }

    /// <summary>What is wrong with the template, or null.</summary>
    public static string? Problem(string template)
    {
        try
        {
            var parsed = Parse(template);
            return parsed.Columns.Count == 0 ? "name at least one column in braces, e.g. \"Q: {question}\\nA:\"" : null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    /// <exception cref="FormatException">An unclosed or empty placeholder, or a lone closing brace.</exception>
    public static PromptTemplate Parse(string template)
    {
        var parts = new List<(string, string?)>();
        var text = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{') { text.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < template.Length && template[i + 1] == '}') { text.Append('}'); i++; continue; }
            if (c == '}') throw new FormatException($"a lone '}}' at character {i}; write }}}} for a literal brace");
            if (c != '{') { text.Append(c); continue; }
            var end = template.IndexOf('}', i + 1);
            if (end < 0) throw new FormatException($"the '{{' at character {i} is not closed; write {{{{ for a literal brace");
            var name = template[(i + 1)..end].Trim();
            if (name.Length == 0) throw new FormatException($"an empty placeholder at character {i}; name a column, e.g. {{question}}");
            parts.Add((text.ToString(), null));
            text.Clear();
            parts.Add(("", name));
            i = end;
        }
        parts.Add((text.ToString(), null));
        return new PromptTemplate(parts);
    }

    /// <param name="value">The row's value of a column, as text.</param>
    public string Render(Func<string, string> value)
    {
        var sb = new StringBuilder();
        foreach (var (text, column) in _parts) sb.Append(column is null ? text : value(column));
        return sb.ToString();
    }
}
