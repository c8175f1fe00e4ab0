-- A notification also tells of a regulator's action on a project: the founder hears of every
-- approval, rejection, freeze, unfreeze and cancellation, the backers of a freeze or a
-- cancellation. The check widens to those kinds; every stored row still reads back as one.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('project_funded', 'project_failed', 'project_cancelled',
                    'regulator_approved', 'regulator_rejected', 'regulator_frozen',
                    'regulator_unfrozen', 'regulator_cancelled'));
