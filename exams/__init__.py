"""Online exams: question banks, exam blueprints (组卷规则), per-trainee papers, timed attempts, grading,
statistics and offline (paper) results."""
