-- A notification also tells of a regulator's action on a project: the founder hears of every
-- approval, rejection, freeze, unfreeze and cancellation, the backers of a freeze or a
-- cancellation. The check widens to those kinds; every stored row still reads back as one.
-- Added NOT VALID, then validated: the rows are checked without holding the table's strictest
-- lock for the whole scan.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('project_funded', 'project_failed', 'project_cancelled',
                    'regulator_approved', 'regulator_rejected', 'regulator_frozen',
                    'regulator_unfrozen', 'regulator_cancelled')) NOT VALID;
ALTER TABLE notifications VALIDATE CONSTRAINT notifications_kind_check;
