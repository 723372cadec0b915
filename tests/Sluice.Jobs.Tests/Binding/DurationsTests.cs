using Sluice.Jobs.Binding;

namespace Sluice.Jobs.Tests.Binding;

public sealed class DurationsTests
{
    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("1.5h", 5400)]
    [InlineData("45", 45)]
    [InlineData(" 2 s ", 2)]
    [InlineData("0", 0)]
    public void TryParse_WrittenAsPeopleDo_Seconds(string text, double seconds)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromSeconds(seconds), d);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-1s")]
    [InlineData("2d")]
    [InlineData("")]
    public void TryParse_NotADuration_Refused(string text) => Assert.False(Durations.TryParse(text, out _));
}
