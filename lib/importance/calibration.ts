/**
 * A small built-in calibration text so `layerquant rank --method lim` works without --calib.
 * Written for layerquant (original text, released with the package under its MIT licence): short
 * everyday stories plus a few plain expository paragraphs, about 4 KB, using only ASCII letters,
 * digits, spaces and common punctuation (no newlines), so that even a character-level vocabulary
 * without byte fallback (BabyLlama's) can encode it. For serious ranking pass a larger text from
 * the model's own domain with --calib.
 */
export const builtinCalibrationText = [
  'Once upon a time, in a small town near the sea, there lived a girl named Mia. Every morning she walked to the harbor with her dog, Max, to watch the boats come in.',
  'One day Mia saw a little boat with a torn red sail. An old man sat inside, looking sad. "What happened to your sail?" Mia asked. "The wind was too strong last night," he said. "Now I cannot go fishing."',
  'Mia ran home and found her mother\'s sewing box. She came back with a needle, thread and a big piece of cloth. Together they worked until the sun was high in the sky. When the sail was fixed, the old man smiled and gave Mia a shiny shell. "Thank you, little friend," he said. Mia felt happy all day.',
  'Tom had a blue ball that he loved very much. He liked to kick it in the park with his sister, Lily. One afternoon the ball rolled into a big bush. Tom was scared to look inside because it was dark. Lily held his hand and said, "Let us look together." They found the ball and also a tiny bird that could not fly. They took the bird home, gave it water and seeds, and after three days it flew away singing.',
  'Ben wanted to bake a cake for his mom. He put flour, eggs, sugar and milk in a bowl and mixed them with a spoon. The kitchen became very messy, but Ben did not stop. When the cake came out of the oven it was a little flat, yet it smelled sweet. His mom laughed, hugged him and said it was the best cake she had ever eaten.',
  'A rabbit and a turtle lived by a quiet river. The rabbit was fast and liked to run, while the turtle was slow and liked to think. When the river flooded one spring, the rabbit did not know what to do. The turtle said, "Climb on my back, I can swim." They crossed the water together and became good friends.',
  'Water boils at one hundred degrees Celsius at sea level. At higher places, where the air pressure is lower, it boils at a lower temperature, which is why cooking pasta in the mountains takes longer.',
  'A library lends books, music and films to the people of a town. Many libraries also offer quiet rooms for study, classes for children, and computers that anyone may use for free.',
  'Plants make their food from sunlight, water and carbon dioxide. This process, called photosynthesis, takes place mostly in the leaves and releases oxygen into the air that animals breathe.',
  'The train left the station at 9:15 and reached the city two hours later. On the way it crossed a long bridge, passed green fields full of sheep, and stopped at five small villages.',
  'Sara found an old map in her grandfather\'s attic. It showed a path from the big oak tree to a hill with a cross on top. She asked her friend Leo to come with her. They followed the path, counted their steps, and at the top of the hill they found a box. Inside there were letters, photos and a note that said: "The real treasure is the time we spend together."',
  'When it rains, the children in the yellow house play games inside. They build towers with blocks, draw pictures of animals, and read stories aloud. Their favorite story is about a brave little mouse who saves a lion.',
  'Good sleep helps the body and the mind. Most adults need seven to nine hours each night, and children need even more. Going to bed at the same time every day makes it easier to fall asleep.',
  'Lucy had a red kite. On a windy day she ran across the field and the kite rose higher and higher, over the trees and the houses. Her little brother clapped and shouted, "Look, it is touching the clouds!" When the wind stopped, the kite came down softly, and they walked home tired and happy.',
].join(' ');
